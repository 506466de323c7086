"""Semantic checks of chat requests: every refusal is a 400 naming the parameter."""
from __future__ import annotations

from typing import Any

import pytest
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.inference.validate import validate_chat
from tokenyard.protocol.openai_chat import chat_request_from_dict

TOOLS = [{"type": "function", "function": {"name": "calc"}}]


def check(**over: Any) -> None:
    """Decode (the wire layer's type checks) and validate a request, as the Router sees it."""
    validate_chat(chat_request_from_dict({"model": "m", "messages": [{"role": "user", "content": "hi"}], **over}))


def test_a_full_request_passes() -> None:
    check(temperature=2, top_p=0, max_tokens=1, max_completion_tokens=5, n=2, seed=-1, stop=["a"] * 4,
                      tools=TOOLS, tool_choice={"type": "function", "function": {"name": "calc"}},
                      response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
                      stream=True, stream_options={"include_usage": True}, user="u", top_logprobs=3,
                      messages=[{"role": "user", "content": [
                          {"type": "text", "text": "x"},
                          {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
                          {"type": "image_url", "image_url": {"url": "https://e.com/a.png"}},
                          {"type": "video_url", "video_url": {"url": "https://e.com/a.mp4"}}]},
                          {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]},
                          {"role": "tool", "tool_call_id": "c", "content": "1"}])


@pytest.mark.parametrize("over,param", [
    ({"temperature": 2.1}, "temperature"),
    ({"temperature": -0.1}, "temperature"),
    ({"top_p": 1.01}, "top_p"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_completion_tokens": -5}, "max_completion_tokens"),
    ({"n": 0}, "n"),
    ({"presence_penalty": 3}, "presence_penalty"),
    ({"top_logprobs": 21}, "top_logprobs"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"tool_choice": "sometimes"}, "tool_choice"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"tool_choice": {"type": "function", "function": {"name": "other"}}, "tools": TOOLS}, "tool_choice"),
    ({"tools": [{"type": "function", "function": {}}]}, "tools[0].function.name"),
    ({"response_format": {"type": "yaml"}}, "response_format.type"),
    ({"response_format": {"type": "json_schema", "json_schema": {}}}, "response_format.json_schema.name"),
    ({"stream_options": {"include_usage": True}}, "stream_options"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "user"}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": []}]}, "messages[0].content"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
    ({"messages": [{"role": "user", "content": [{"type": "sound"}]}]}, "messages[0].content[0].type"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]}]},
     "messages[0].content[0].image_url.url"),
    ({"messages": [{"role": "user", "content": [{"type": "video_url", "video_url": {}}]}]},
     "messages[0].content[0].video_url.url"),
])
def test_bad_values_are_400_naming_the_param(over: dict[str, Any], param: str) -> None:
    with pytest.raises(GatewayError) as err:
        check(**over)
    assert err.value.kind == ErrorKind.INVALID_REQUEST and err.value.param == param
