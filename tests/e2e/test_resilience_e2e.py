"""Retries, fallbacks, timeouts, broken streams and client disconnects end to end (fake upstreams)."""
from __future__ import annotations

import json
import time
import uuid

import httpx
import openai
import pytest

from tests.e2e.upstream_gateway import Upstreams, upstreams  # noqa: F401 - fixture
from tests.fakes import Fault

USER = [{"role": "user", "content": "hello world"}]


@pytest.fixture(autouse=True)
def _clean(upstreams: Upstreams) -> None:  # noqa: F811
    upstreams.reset()


def metric(upstreams: Upstreams, name: str, **labels: str) -> float:  # noqa: F811
    """Sum of the samples of `name` whose labels include `labels`."""
    text = httpx.get(f"{upstreams.gateway.url}/metrics").text
    want = [f'{k}="{v}"' for k, v in labels.items()]
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(w in line.split("}")[0] for w in want):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_primary_500_then_fallback_answers(upstreams: Upstreams) -> None:  # noqa: F811
    flaky, gemini = upstreams.fakes["flaky"], upstreams.fakes["gemini"]
    flaky.push_fault(Fault.status(500), times=10)
    before = metric(upstreams, "tokenyard_fallbacks_total", model="t/flaky")
    raw = upstreams.gateway.openai().chat.completions.with_raw_response.create(model="t/flaky", messages=USER)
    assert raw.headers["x-tokenyard-target"] == "fake-gemini"
    assert raw.parse().choices[0].message.content == "echo: hello world"
    assert raw.parse().model == "t/flaky"
    assert len(flaky.requests) == 2, "one try and one retry on the primary (max_retries: 1)"
    assert len(gemini.requests) == 1
    assert metric(upstreams, "tokenyard_fallbacks_total", model="t/flaky") == before + 1
    assert metric(upstreams, "tokenyard_retries_total", provider="fake-flaky") >= 1


def test_streaming_falls_back_too_before_the_first_byte(upstreams: Upstreams) -> None:  # noqa: F811
    upstreams.fakes["flaky"].push_fault(Fault.status(503), times=10)
    with upstreams.gateway.http() as http, http.stream("POST", "/v1/chat/completions", json={
            "model": "t/flaky", "stream": True, "messages": USER}) as r:
        assert r.status_code == 200 and r.headers["x-tokenyard-target"] == "fake-gemini"
        body = r.read().decode()
    assert "echo:" in body and body.rstrip().endswith("data: [DONE]") and '"error"' not in body


def test_429_with_retry_after_is_retried_after_waiting(upstreams: Upstreams) -> None:  # noqa: F811
    oai = upstreams.fakes["openai"]
    oai.push_fault(Fault.status(429, retry_after=1))
    started = time.monotonic()
    resp = upstreams.gateway.openai().chat.completions.create(model="t/openai", messages=USER)
    assert resp.choices[0].message.content == "echo: hello world"
    assert len(oai.requests) == 2
    gap = oai.requests[1].timestamp - oai.requests[0].timestamp
    assert 0.9 <= gap < 3 and time.monotonic() - started >= 0.9


def test_429_after_retries_is_a_429_with_retry_after(upstreams: Upstreams) -> None:  # noqa: F811
    upstreams.fakes["openai"].push_fault(Fault.status(429, retry_after=7))
    with pytest.raises(openai.RateLimitError) as err:
        upstreams.gateway.openai().chat.completions.create(model="t/strict", messages=USER)
    assert err.value.response.headers["retry-after"] == "7"
    assert err.value.body["type"] == "rate_limit_error"  # type: ignore[index]


def test_5xx_after_retries_is_a_502_provider_error(upstreams: Upstreams) -> None:  # noqa: F811
    upstreams.fakes["openai"].push_fault(Fault.status(500))
    with pytest.raises(openai.APIStatusError) as err:
        upstreams.gateway.openai().chat.completions.create(model="t/strict", messages=USER)
    assert err.value.status_code == 502 and err.value.code == "provider_error"


def test_upstream_timeout_is_a_504(upstreams: Upstreams) -> None:  # noqa: F811
    oai = upstreams.fakes["openai"]
    oai.push_fault(Fault.delay(5))
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as err:
        upstreams.gateway.openai().chat.completions.create(model="t/strict", messages=USER)
    assert err.value.status_code == 504 and err.value.code == "timeout"
    assert time.monotonic() - started < 3, "first_byte timeout is 0.5 s"


def test_stream_cut_midway_is_one_error_event_then_a_clean_end(upstreams: Upstreams) -> None:  # noqa: F811
    oai = upstreams.fakes["openai"]
    oai.script_reply("alpha beta gamma delta epsilon zeta eta theta")
    oai.push_fault(Fault.cut_stream(after=4))
    with upstreams.gateway.http() as http, http.stream("POST", "/v1/chat/completions", json={
            "model": "t/openai", "stream": True, "messages": USER}) as r:
        assert r.status_code == 200
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    payloads = [json.loads(e) for e in events[:-1]]
    errors = [p for p in payloads if "error" in p]
    assert len(errors) == 1 and payloads[-1] is errors[0]
    assert errors[0]["error"]["code"] == "provider_error"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in payloads[:-1] if c.get("choices"))
    assert text.startswith("alpha") and "theta" not in text
    assert len(oai.requests) == 1, "no retry once bytes reached the client"


def test_client_disconnect_cancels_the_upstream_and_meters_the_tokens(upstreams: Upstreams) -> None:  # noqa: F811
    oai = upstreams.fakes["openai"]
    oai.script_reply("first second third fourth")
    oai.push_fault(Fault.hang_stream(after=3))
    rid = f"req_disconnect_{uuid.uuid4().hex}"
    with httpx.Client(base_url=upstreams.gateway.url, timeout=10,
                      headers={"authorization": f"Bearer {upstreams.gateway.admin_key}", "x-request-id": rid}) as http:
        with http.stream("POST", "/v1/chat/completions",
                         json={"model": "t/openai", "stream": True, "messages": USER}) as r:
            lines = r.iter_lines()
            got = [next(lines) for _ in range(3)]
            assert any("first" in line for line in got)
            closed_at = time.monotonic()
    assert oai.wait_for(lambda: oai.disconnects == 1, timeout=3.0), "the upstream request must be cancelled"
    assert time.monotonic() - closed_at < 1.5
    record = upstreams.usage_record(rid)
    assert record is not None, "a cancelled stream is still metered"
    assert record["status"] == "cancelled" and record["target"] == "fake-openai"
    assert record["completion_tokens"] > 0 and record["prompt_tokens"] > 0 and record["estimated"]
