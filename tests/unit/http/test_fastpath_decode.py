"""The fast routes decode a body exactly as the FastAPI routes do (the typed core's one parse: same proto, same
400s), and the embeddings check never accepts what the pydantic schema would reject or change."""
from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from tokenyard.errors import GatewayError
from tokenyard.inference import convert
from tokenyard.settings import Settings
from tokenyard_http.fastpath.asgi import match
from tokenyard.protocol.openai_chat import decode_chat_request
from tokenyard_http.fastpath.check import plain_embeddings
from tokenyard_http.fastpath.decode import decode_chat
from tokenyard_http.schemas.chat import ChatCompletionRequest
from tokenyard_http.schemas.embeddings import EmbeddingRequest

MSG = [{"role": "user", "content": "hi"}]
VALID = [
    {"model": "m", "messages": MSG},
    {"model": "m", "messages": MSG, "stream": True, "stream_options": {"include_usage": True}, "extra": [1]},
    {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"},
                                               {"type": "image_url", "image_url": {"url": "data:x", "detail": "low"}}]}],
     "temperature": 0.5, "top_p": 1, "max_tokens": 10, "seed": -3, "stop": ["a", "b"], "n": 1},
    {"model": "m", "messages": [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"}],
     "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "strict": True}}],
     "tool_choice": {"type": "function", "function": {"name": "f"}}, "response_format": {"type": "json_object"}},
]
INVALID_OR_ODD = [
    [], "x", {"model": "m"}, {"model": "m", "messages": []}, {"model": 3, "messages": MSG},
    {"messages": [{"role": "robot", "content": "x"}]}, {"messages": MSG, "stream": 1},
    {"messages": MSG, "temperature": True}, {"messages": MSG, "max_tokens": 2**31}, {"messages": MSG, "n": 1.0},
    {"messages": MSG, "stream_options": {"include_usage": 0}}, {"messages": MSG, "stop": [1]},
    {"messages": MSG, "tool_choice": "sometimes"}, {"messages": MSG, "tools": [{"function": {"strict": 1}}]},
    {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u", "detail": "x"}}]}]},
    {"messages": [{"role": "user", "content": [{"type": "audio"}]}]},
    {"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f"}}]}]},
]


def _pydantic(data: Any) -> dict[str, Any] | None:
    try:
        return ChatCompletionRequest.model_validate(data).model_dump(exclude_unset=True)
    except ValidationError:
        return None


@pytest.mark.parametrize("body", VALID)
def test_valid_bodies_decode_as_the_route_decodes_them(body: dict[str, Any]) -> None:
    assert _pydantic(body) == body
    raw = orjson.dumps(body)
    assert decode_chat(raw, Settings()) == convert.request_to_pb(decode_chat_request(raw))


@pytest.mark.parametrize("body", INVALID_OR_ODD)
def test_what_the_schema_refuses_is_a_400(body: Any) -> None:
    if _pydantic(body) is None:
        with pytest.raises(GatewayError) as err:
            decode_chat(orjson.dumps(body), Settings())
        assert err.value.kind.value.http_status == 400


def test_bad_json_and_wrong_types_keep_their_messages() -> None:
    with pytest.raises(GatewayError, match="not valid JSON"):
        decode_chat(b"{", Settings())
    with pytest.raises(GatewayError, match="Invalid value for 'messages\\[0\\].role'"):
        decode_chat(orjson.dumps({"messages": [{"role": "robot"}]}), Settings())
    with pytest.raises(GatewayError, match="Missing required parameter: 'messages'"):
        decode_chat(b"{}", Settings())


@pytest.mark.parametrize("body,plain", [({"input": "x"}, True), ({"input": ["a"], "model": "m", "dimensions": 8}, True),
                                        ({"model": "m"}, False), ({"input": "x", "encoding_format": "hex"}, False),
                                        ({"input": "x", "dimensions": True}, False)])
def test_embeddings_check_agrees_with_the_schema(body: dict[str, Any], plain: bool) -> None:
    assert plain_embeddings(body) is plain
    if plain:
        assert EmbeddingRequest.model_validate(body).model_dump(exclude_unset=True) == body


@pytest.mark.parametrize("path,hit", [
    ("/v1/chat/completions", ("/v1/chat/completions", "")), ("/v1/app1/chat/completions",
                                                             ("/v1/{app_id}/chat/completions", "app1")),
    ("/v1/embeddings", ("/v1/embeddings", "")), ("/v1/a/embeddings", ("/v1/{app_id}/embeddings", "a")),
    ("/v1/a/b/chat/completions", None), ("/v1//chat/completions", None), ("/v1/chat/completions/", None),
    ("/v1/models", None)])
def test_fast_routes(path: str, hit: Any) -> None:
    assert match(path) == hit
