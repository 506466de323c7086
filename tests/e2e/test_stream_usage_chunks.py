"""The raw SSE stream of a chat completion, read byte for byte (no SDK filtering such as `if c.choices`): without
`stream_options.include_usage` no chunk is empty and none carries usage; with it, exactly one final chunk
has `choices: []` and the usage (OpenAI's documented behaviour)."""
from __future__ import annotations

import json

import httpx

from tests.harness.gateway import Gateway


def _events(gw: Gateway, **extra: object) -> list[dict]:
    body = {"model": "local/echo", "stream": True, "messages": [{"role": "user", "content": "one two three"}],
            **extra}
    with gw.http() as http, http.stream("POST", "/v1/chat/completions", json=body) as resp:
        assert resp.status_code == 200
        data = [line[len("data: "):] for line in resp.iter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


def test_without_include_usage_every_chunk_has_a_choice_and_none_has_usage(gateway: Gateway) -> None:
    chunks = _events(gateway)
    assert chunks, "the answer streamed"
    assert all(c["choices"] for c in chunks), [c for c in chunks if not c["choices"]]
    assert not any("usage" in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_with_include_usage_exactly_one_final_usage_chunk(gateway: Gateway) -> None:
    chunks = _events(gateway, stream_options={"include_usage": True})
    assert [c["choices"] for c in chunks if not c["choices"]] == [[]]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    assert all(c["choices"] for c in chunks[:-1])
