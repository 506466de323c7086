"""OpenAI chat requests and answers survive the trip through the inference protos unchanged."""
from __future__ import annotations

import msgspec
import orjson

from tokenyard.inference import convert
from tokenyard.protocol import models as m
from tokenyard.protocol.openai_chat import encode_chunk, encode_completion

REQUEST = {
    "model": "openai/gpt-4o",
    "messages": [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": [
            {"type": "text", "text": "what is in these?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
            {"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"}},
            {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "calc", "arguments": "{\"a\": 1}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "2"},
    ],
    "temperature": 0.5, "top_p": 1.0, "max_tokens": 100, "stop": ["END"], "n": 1, "seed": 7,
    "response_format": {"type": "json_object"},
    "tools": [{"type": "function", "function": {"name": "calc", "description": "adds",
                                                "parameters": {"type": "object", "properties": {}}, "strict": True}}],
    "tool_choice": {"type": "function", "function": {"name": "calc"}},
    "stream": True, "stream_options": {"include_usage": True}, "user": "u1",
    "logit_bias": {"50256": -100}, "metadata": {"a": "b"},
}


def test_request_round_trip_is_lossless() -> None:
    assert convert.request_to_dict(convert.request_to_pb(REQUEST)) == REQUEST


def test_single_stop_string_becomes_a_list() -> None:
    d = convert.request_to_dict(convert.request_to_pb({"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": "x"}))
    assert d["stop"] == ["x"]


def test_completion_round_trip() -> None:
    c = {"id": "chatcmpl-1", "object": "chat.completion", "created": 5, "model": "m",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": [
             {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
             "logprobs": None, "finish_reason": "tool_calls"}],
         "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}
    assert orjson.loads(encode_completion(convert.completion_from_pb(convert.completion_to_pb(msgspec.convert(c, m.Completion))))) == c


def test_chunk_round_trip_keeps_tool_call_argument_pieces() -> None:
    first = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"tool_calls": [
                 {"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}]},
                 "logprobs": None, "finish_reason": None}]}
    piece = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"a"}}]},
                          "logprobs": None, "finish_reason": None}]}
    usage = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
             "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}
    for chunk in (first, piece, usage):
        assert orjson.loads(encode_chunk(convert.chunk_from_pb(convert.chunk_to_pb(msgspec.convert(chunk, m.Chunk))))) == chunk
