"""Embeddings request validation and conversion: input shapes, limits naming themselves, base64 and protos."""
from __future__ import annotations

import base64
import struct

import pytest
from tokenyard.catalog import ModelSpec
from tokenyard.embeddings import convert
from tokenyard.embeddings.validate import EmbeddingLimits, check_tokens, parse_input, validate_request
from tokenyard.errors import ErrorKind, GatewayError

MODEL = ModelSpec(id="m/emb", type="embedding", provider="p", dimensions=8, max_inputs=4)


@pytest.mark.parametrize("value,expected", [
    ("hi", ["hi"]),
    (["a", "b"], ["a", "b"]),
    ([1, 2, 3], [[1, 2, 3]]),
    ([[1, 2], [3]], [[1, 2], [3]]),
    (["a", [5, 6]], ["a", [5, 6]]),
    (" ", [" "]),
])
def test_every_openai_input_shape_is_accepted(value: object, expected: list[object]) -> None:
    assert parse_input(value) == expected


@pytest.mark.parametrize("value,fragment", [
    (None, "Missing required parameter: 'input'"),
    ("", "must not be an empty string"),
    ([], "must not be an empty array"),
    (["a", ""], "input[1] must not be an empty string"),
    (["a", 3], "input[1] must be a string or an array of token ids, not int"),
    (["a", 1.5], "not float"),
    (["a", None], "not NoneType"),
    ([{"text": "a"}], "not dict"),
    ([[1, "x"]], "input[0] must contain only non-negative integer token ids"),
    ([[-1]], "non-negative"),
    ([[]], "input[0] must not be an empty array of token ids"),
    ([True, False], "not bool"),
    (42, "'input' must be a string, an array of strings"),
    ({"a": 1}, "'input' must be"),
])
def test_bad_inputs_are_400s_naming_the_item(value: object, fragment: str) -> None:
    with pytest.raises(GatewayError) as err:
        parse_input(value)
    assert err.value.kind is ErrorKind.INVALID_REQUEST and err.value.param == "input"
    assert fragment in err.value.message


def test_too_many_inputs_names_the_limit_from_the_model_or_the_settings() -> None:
    with pytest.raises(GatewayError, match=r"Too many inputs: 5; the limit is 4 inputs per request"):
        validate_request({"input": list("abcde")}, MODEL, EmbeddingLimits())
    with pytest.raises(GatewayError, match=r"the limit is 2 inputs"):
        validate_request({"input": list("abc")}, MODEL, EmbeddingLimits(max_inputs=2))
    assert validate_request({"input": list("abcd")}, MODEL, EmbeddingLimits()) == list("abcd")


@pytest.mark.parametrize("dims", [0, -3, 9, "4", 2.0, True])
def test_dimensions_must_be_a_positive_int_within_the_model(dims: object) -> None:
    with pytest.raises(GatewayError) as err:
        validate_request({"input": "x", "dimensions": dims}, MODEL, EmbeddingLimits())
    assert err.value.param == "dimensions"


def test_token_budget_per_input_and_per_request() -> None:
    limits = EmbeddingLimits(max_request_tokens=10)
    assert check_tokens([3, 4], limits, model="m", per_input=5) == 7
    with pytest.raises(GatewayError) as err:
        check_tokens([3, 6], limits, model="m", per_input=5)
    assert err.value.kind is ErrorKind.CONTEXT_TOO_LONG and "input[1] has 6 tokens" in err.value.message
    with pytest.raises(GatewayError) as err:
        check_tokens([5, 5, 1], limits, model="m", per_input=5)
    assert err.value.kind is ErrorKind.INVALID_REQUEST
    assert "total 11 tokens; the limit is 10 tokens per request (max_request_tokens)" in err.value.message


def test_base64_is_little_endian_float32_of_the_same_values() -> None:
    values = [0.5, -1.25, 3.0e-8, 1 / 3]
    raw = base64.b64decode(convert.float32_base64(values))
    assert len(raw) == 16
    decoded = struct.unpack("<4f", raw)
    assert decoded == struct.unpack("<4f", struct.pack("<4f", *values))


def test_request_and_response_round_trip_through_protos() -> None:
    body = {"model": "m/emb", "input": ["hello", [1, 2, 3]], "dimensions": 4, "user": "u1"}
    req = convert.request_to_pb(body, app_id="app1", request_id="r1")
    assert req.app_id == "app1" and req.request_id == "r1"
    assert convert.request_to_dict(req) == body
    result = {"object": "list", "model": "m/emb", "usage": {"prompt_tokens": 7, "total_tokens": 7},
              "data": [{"object": "embedding", "index": i, "embedding": [0.25 * i, -0.5]} for i in range(2)]}
    resp = convert.response_to_pb(result, estimated=True, target="prov")
    assert resp.usage.estimated and resp.target == "prov"
    assert convert.response_to_dict(resp) == result
    b64 = convert.response_to_dict(resp, "base64")
    assert struct.unpack("<2f", base64.b64decode(b64["data"][1]["embedding"])) == (0.25, -0.5)


def test_request_to_pb_rejects_zero_dimensions_rather_than_meaning_default() -> None:
    with pytest.raises(GatewayError, match="positive integer"):
        convert.request_to_pb({"model": "m", "input": "x", "dimensions": 0})
