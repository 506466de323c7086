"""The OpenAI chat converter: one parse of a body into the typed core, raw JSON kept byte-exact, ints kept ints,
bad bodies a 400 naming the parameter, and answers written in the OpenAI shape."""
from __future__ import annotations

import orjson
import pytest

from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.inference import convert
from tokenyard.protocol import models as m
from tokenyard.protocol.openai_chat import (decode_chat_request, encode_chunk, encode_completion, encode_request,
                                            request_to_dict)

HI = [{"role": "user", "content": "hi"}]
BIG = 2**62 + 1  # not exactly representable as a float: survives only if never turned into one


def _decode(**fields: object) -> m.ChatRequest:
    return decode_chat_request(orjson.dumps({"model": "m", "messages": HI, **fields}))


def test_unknown_fields_are_kept_as_the_bytes_sent() -> None:
    body = (b'{"model":"m","messages":[{"role":"user","content":"hi"}],'
            b'"top_k":5,"seed_big":' + str(BIG).encode() + b',"ratio":1.10,"meta":{"b":1,"a":[1.0,2]}}')
    req = decode_chat_request(body)
    assert {k: bytes(v) for k, v in req.extra.items()} == {
        "top_k": b"5", "seed_big": str(BIG).encode(), "ratio": b"1.10", "meta": b'{"b":1,"a":[1.0,2]}'}
    out = encode_request(req, model="upstream-name")
    assert b'"ratio":1.10' in out and b'"meta":{"b":1,"a":[1.0,2]}' in out  # spelling and key order kept
    assert orjson.loads(out)["seed_big"] == BIG and orjson.loads(out)["model"] == "upstream-name"


def test_opaque_fields_stay_raw_and_ints_stay_ints() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "maximum": BIG}}}
    req = _decode(tools=[{"type": "function", "function": {"name": "f", "parameters": schema}}],
                  response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
                  tool_choice={"type": "function", "function": {"name": "f"}}, max_tokens=7)
    assert isinstance(req.tools[0].function.parameters, m.Raw)  # type: ignore[index,union-attr]
    back = request_to_dict(req)
    assert back["tools"][0]["function"]["parameters"] == schema
    assert back["response_format"]["json_schema"]["schema"]["properties"]["n"]["maximum"] == BIG
    assert type(back["max_tokens"]) is int and back["tool_choice"]["function"]["name"] == "f"


def test_round_trip_through_the_proto_keeps_every_field() -> None:
    body = {"model": "m", "messages": [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": [{"type": "text", "text": "look"},
                                     {"type": "image_url", "image_url": {"url": "https://x/a.png", "detail": "low"}},
                                     {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}},
                                     {"type": "file", "file": {"file_id": "f1"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "2"}],
        "temperature": 0.5, "max_tokens": 10, "seed": BIG, "stop": ["x"], "stream": True,
        "stream_options": {"include_usage": True}, "user": "u", "logprobs": True, "top_logprobs": 3,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "strict": True}}],
        "tool_choice": "auto", "metadata": {"k": "v"}, "top_k": 40}
    req = decode_chat_request(orjson.dumps(body))
    pb = convert.request_to_pb(req)
    assert pb.extra["top_k"] == b"40" and pb.tool_choice_json == b'"auto"'
    assert request_to_dict(convert.request_from_pb(pb)) == body


@pytest.mark.parametrize(("body", "param"), [
    (b'{"messages": []}', "messages"),
    (b'{"model": "m"}', "messages"),
    (b'{"messages": [{"role": "robot", "content": "x"}]}', "messages[0].role"),
    (b'{"messages": [{"role": "user", "content": [{"type": "hologram"}]}]}', "messages[0].content[0].type"),
    (b'{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}',
     "messages[0].content[0].image_url.url"),
    (b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": 1180591620717411303424}', "max_tokens"),
    (b'{"messages": [{"role": "user", "content": "x"}], "temperature": "hot", "top_k": 1}', "temperature"),
    (b'{"messages": [{"role": "user", "content": "x"}], "stream": "yes"}', "stream"),
    (b'{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "yaml"}}',
     "response_format.type"),
    (b'{"messages": [{"role": "user", "content": "x"}], "tool_choice": "sometimes"}', "tool_choice"),
    (b'{"messages": [{"role": "user", "content": "x"}], "tools": [{"function": {"name": "f", "parameters": [1]}}]}',
     "tools[0].function.parameters"),
    (b'{"messages": [{"role": "user", "content": "x"}], "meta": ' + b"[" * 70 + b"]" * 70 + b"}", "meta"),
])
def test_bad_bodies_are_400_naming_the_parameter(body: bytes, param: str) -> None:
    with pytest.raises(GatewayError) as err:
        decode_chat_request(body)
    assert err.value.kind is ErrorKind.INVALID_REQUEST and err.value.param == param, err.value.message


@pytest.mark.parametrize("body", [b"", b"{", b"[1]", b'"x"', b"\xff\xfe", b'{"messages": [}'])
def test_non_objects_and_broken_json_are_400(body: bytes) -> None:
    with pytest.raises(GatewayError) as err:
        decode_chat_request(body)
    assert err.value.kind is ErrorKind.INVALID_REQUEST


def test_null_opaque_fields_count_as_absent() -> None:
    req = _decode(tool_choice=None, response_format=None,
                  tools=[{"type": "function", "function": {"name": "f", "parameters": None}}])
    assert "tool_choice" not in request_to_dict(req) and "response_format" not in request_to_dict(req)
    assert "parameters" not in request_to_dict(req)["tools"][0]["function"]


def test_answers_are_written_in_the_openai_shape() -> None:
    completion = m.Completion(id="c", created=1, model="m", choices=[
        m.Choice(index=0, message=m.Message(role="assistant", content=None, tool_calls=[
            m.ToolCall(id="t", function=m.FunctionCall(name="f", arguments="{}"))]), finish_reason="tool_calls")],
        usage=m.Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3))
    assert orjson.loads(encode_completion(completion)) == {
        "object": "chat.completion", "id": "c", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": [
            {"id": "t", "function": {"name": "f", "arguments": "{}"}, "type": "function"}]},
            "logprobs": None, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}
    chunk = m.Chunk(id="c", created=1, model="m", choices=[], usage=m.Usage(1, 2, 3))
    assert orjson.loads(encode_chunk(chunk))["choices"] == [] and b'"system_fingerprint"' not in encode_chunk(chunk)


@pytest.mark.parametrize("value", [b"[1]", b"\"x\"", b"{\"k\":1}"])
def test_a_client_field_named_extra_is_an_unknown_field_like_any_other(value: bytes) -> None:
    body = b'{"messages":[{"role":"user","content":"hi"}],"extra":' + value + b'}'
    req = decode_chat_request(body)
    assert orjson.loads(encode_request(req))["extra"] == orjson.loads(value)
    assert orjson.loads(encode_request(convert.request_from_pb(convert.request_to_pb(req))))["extra"] == \
        orjson.loads(value)
