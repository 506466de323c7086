"""The OpenAI adapter decodes upstream bodies and SSE lines straight into the typed core: real-world variants
(logprobs objects, `reasoning` instead of `reasoning_content`, `usage: null`, extra usage details, error
events, non-object lines) keep reaching the client as before."""
from __future__ import annotations

import orjson
import pytest

from tokenyard.errors import ErrorKind
from tokenyard.inference import convert
from tokenyard.protocol.models import Chunk, Completion
from tokenyard.providers.base import UpstreamError
from tokenyard.providers.openai import decode_chunk, decode_completion

BODY = {"id": "chatcmpl-1", "object": "chat.completion", "created": 7, "model": "m", "system_fingerprint": "fp",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": {"content": [{"token": "hi", "logprob": -0.1}]},
                     "message": {"role": "assistant", "content": "hi", "reasoning": "thought", "refusal": None}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4,
                  "completion_tokens_details": {"reasoning_tokens": 0}}}


def test_a_completion_with_logprobs_and_reasoning_decodes_and_maps_to_the_proto() -> None:
    result = decode_completion(orjson.dumps(BODY), "up")
    assert isinstance(result, Completion)
    pb = convert.completion_to_pb(result)
    assert pb.choices[0].message.content[0].text == "hi" and pb.choices[0].message.reasoning == "thought"
    assert (pb.usage.prompt_tokens, pb.usage.completion_tokens, pb.usage.total_tokens) == (3, 1, 4)
    assert pb.system_fingerprint == "fp" and pb.choices[0].finish_reason == "stop"


def test_a_body_without_choices_or_not_json_is_a_retryable_provider_error() -> None:
    for raw in (b'{"id": "x"}', b"not json", b'{"choices": "nope"}'):
        with pytest.raises(UpstreamError) as err:
            decode_completion(raw, "up")
        assert err.value.kind == ErrorKind.PROVIDER_ERROR and err.value.retryable


def test_stream_lines_decode_to_chunks_errors_raise_and_non_objects_are_skipped() -> None:
    chunk = decode_chunk('{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","usage":null,'
                         '"choices":[{"index":0,"delta":{"reasoning":"r","content":null,"tool_calls":null},'
                         '"logprobs":null,"finish_reason":null}]}', "up")
    assert isinstance(chunk, Chunk) and not chunk.usage
    assert convert.chunk_to_pb(chunk).choices[0].delta.reasoning == "r"
    assert decode_chunk("42", "up") is None
    with pytest.raises(UpstreamError) as err:
        decode_chunk('{"error": {"message": "overloaded", "type": "rate_limit_error"}}', "up")
    assert err.value.kind == ErrorKind.RATE_LIMITED
    text = decode_chunk('{"choices":[{"index":0,"delta":{"content":"say \\"error\\" please"}}]}', "up")
    assert text is not None and text.choices[0].delta.content == 'say "error" please'
