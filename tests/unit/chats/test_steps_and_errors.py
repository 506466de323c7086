"""Reassembling streamed steps (fragmented tool-call arguments) and the chat API's error details."""
from __future__ import annotations

import msgspec
import pytest

from tokenyard.chats.steps import StepAccumulator
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.protocol.models import Chunk, Usage
from tokenyard_http.chat_errors import chat_body, parse_duration, reset_ms


def _chunk(delta: dict, finish: str | None = None) -> Chunk:
    return msgspec.convert({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}, Chunk)


def test_tool_call_arguments_streamed_in_pieces_are_reassembled() -> None:
    acc = StepAccumulator()
    pieces = [_chunk({"role": "assistant", "content": "Let me "}), _chunk({"content": "check."}),
              _chunk({"tool_calls": [{"index": 0, "id": "call_a", "function": {"name": "calculator",
                                                                               "arguments": ""}}]}),
              _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"expre'}}]}),
              _chunk({"tool_calls": [{"index": 1, "id": "call_b", "function": {"name": "weather",
                                                                               "arguments": '{"loc'}}]}),
              _chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ssion": "1+1"}'}}]}),
              _chunk({"tool_calls": [{"index": 1, "function": {"arguments": 'ation": "Oslo"}'}}]}),
              _chunk({}, "tool_calls"), Chunk(usage=Usage(prompt_tokens=3))]
    texts = [acc.add(c) for c in pieces]
    assert "".join(texts) == "Let me check." and acc.finish_reason == "tool_calls"
    calls = acc.tool_calls()
    assert [(c.id, c.name, c.args_value()) for c in calls] == [
        ("call_a", "calculator", {"expression": "1+1"}), ("call_b", "weather", {"location": "Oslo"})]
    message = acc.message()
    assert message["content"] == "Let me check."
    assert message["tool_calls"][1]["function"] == {"name": "weather", "arguments": '{"location": "Oslo"}'}


def test_missing_ids_are_generated_and_bad_json_is_kept_raw() -> None:
    acc = StepAccumulator()
    acc.add(_chunk({"tool_calls": [{"index": 0, "function": {"name": "x", "arguments": "{not json"}}]}))
    call, = acc.tool_calls()
    assert call.id.startswith("call_") and call.args_value() == "{not json"
    assert acc.message()["content"] is None


def test_plain_text_step() -> None:
    acc = StepAccumulator()
    acc.add(_chunk({"content": "hi"}, "stop"))
    assert acc.message() == {"role": "assistant", "content": "hi"} and acc.tool_calls() == []


@pytest.mark.parametrize(("text", "seconds"), [("1s", 1.0), ("6m0s", 360.0), ("250ms", 0.25),
                                               ("1h2m3.5s", 3723.5), ("12", 12.0), ("", None), ("soon", None),
                                               ("5sx", None)])
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_rate_limited_details_have_remaining_and_reset_epoch_ms() -> None:
    err = GatewayError(ErrorKind.RATE_LIMITED, "slow down", retry_after=2.5,
                       metadata={"x-ratelimit-remaining-requests": "0", "x-ratelimit-limit-requests": "10"})
    assert reset_ms(err, now=1000.0) == 1_002_500
    body = chat_body(err)
    assert body["code"] == "RATE_LIMITED" and body["details"]["remaining"] == 0
    assert "x-ratelimit-limit-requests" not in body["details"], "headers are not details"
    limiter = GatewayError(ErrorKind.RATE_LIMITED, "x", metadata={"x-ratelimit-reset-requests": "1m"})
    assert reset_ms(limiter, now=10.0) == 70_000


def test_other_errors_keep_their_code_and_param() -> None:
    body = chat_body(GatewayError(ErrorKind.MODEL_NOT_ALLOWED, "no", param="model"))
    assert body == {"error": "no", "code": "INVALID_MODEL", "details": {"param": "model"}}
