"""Upstream error bodies are not relayed verbatim: a 5xx shows only its status and the upstream request id (the body
goes to the log, credentials redacted); a 4xx keeps the provider's message, keys redacted (openai SDK, real
gateway, fake OpenAI/Anthropic/Gemini upstreams)."""
from __future__ import annotations

import json
import time
from collections.abc import Callable

import openai
import pytest

from tests.e2e.upstream_gateway import KIND_MODELS, Upstreams, upstreams  # noqa: F401 - fixture
from tests.fakes import Fault, FakeOpenAI
from tests.harness.gateway import Gateway

INTERNAL = "db password=hunter2 Traceback (most recent call last): File /srv/llm/worker.py line 42 in shard-7"
LEAKS = ("hunter2", "Traceback", "/srv/llm", "shard-7")
REQUEST_ID_HEADER = {"openai": "x-request-id", "anthropic": "request-id", "gemini": "x-goog-request-id"}


@pytest.fixture(autouse=True)
def _clean(upstreams: Upstreams) -> None:  # noqa: F811
    upstreams.reset()


def _error(upstreams: Upstreams, model: str, stream: bool = False) -> tuple[int, str]:  # noqa: F811
    """(status, raw body) of a chat request, plain HTTP."""
    with upstreams.gateway.http() as http:
        r = http.post("/v1/chat/completions", json={"model": model, "stream": stream,
                                                    "messages": [{"role": "user", "content": "hi"}]})
    return r.status_code, r.text


@pytest.mark.parametrize("kind", list(KIND_MODELS))
def test_a_5xx_body_is_replaced_by_its_status_and_upstream_request_id(upstreams: Upstreams, kind: str) -> None:  # noqa: F811,E501
    rid = f"req_up_{kind}_42"
    upstreams.fakes[kind].push_fault(Fault.status(500, message=INTERNAL, headers={REQUEST_ID_HEADER[kind]: rid}),
                                     times=10)
    with pytest.raises(openai.APIStatusError) as err:
        upstreams.gateway.openai().chat.completions.create(model=KIND_MODELS[kind],
                                                           messages=[{"role": "user", "content": "hi"}])
    assert err.value.status_code == 502
    body = err.value.response.text
    assert not [leak for leak in LEAKS if leak in body], body
    assert "HTTP 500" in body and rid in body, body
    assert err.value.body["code"] == "provider_error"
    logs = upstreams.gateway.logs()
    assert "worker.py line 42" in logs and rid in logs, "the full body goes to the operator's log"
    assert "hunter2" not in logs, "credentials in the body are redacted in the log"


@pytest.mark.parametrize("kind", list(KIND_MODELS))
def test_a_5xx_in_the_middle_of_a_stream_hides_its_body(upstreams: Upstreams, kind: str) -> None:  # noqa: F811
    fake = upstreams.fakes[kind]
    fake.script_reply("one two three four")
    fake.push_fault(Fault.stream_error(after=2, status_code=500, message=INTERNAL,
                                       error_type="api_error" if kind == "anthropic" else None))
    status, text = _error(upstreams, KIND_MODELS[kind], stream=True)
    assert status == 200
    events = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
    errors = [e["error"] for e in events if "error" in e]
    assert len(errors) == 1 and errors[0]["code"] == "provider_error", text
    assert not [leak for leak in LEAKS if leak in text], text
    assert "HTTP 500" in errors[0]["message"]


def test_a_4xx_keeps_the_providers_message_without_keys(upstreams: Upstreams) -> None:  # noqa: F811
    helpful = "Invalid 'temperature': must be <= 2, got 7. (org key sk-proj-abcdefghij0123456789 was used)"
    upstreams.fakes["openai"].push_fault(Fault.status(400, message=helpful))
    with pytest.raises(openai.BadRequestError) as err:
        upstreams.gateway.openai().chat.completions.create(model="t/openai",
                                                           messages=[{"role": "user", "content": "hi"}])
    message = err.value.body["message"]
    assert "Invalid 'temperature': must be <= 2, got 7." in message
    assert "sk-proj-abcdefghij0123456789" not in err.value.response.text and "[redacted]" in message


def test_a_4xx_that_echoes_the_gateways_own_provider_key_is_redacted(upstreams: Upstreams) -> None:  # noqa: F811
    from tests.e2e.upstream_gateway import KEYS

    upstreams.fakes["openai"].push_fault(Fault.status(404, message=f"model not found for key {KEYS['openai']}"))
    status, text = _error(upstreams, "t/openai")
    assert status == 404 and "model not found for key" in text and KEYS["openai"] not in text


def test_a_5xx_of_an_upstream_video_api_is_not_shown_in_the_job(make_gateway: Callable[..., Gateway]) -> None:
    fake = FakeOpenAI(require_api_key="sk-fake-video").start()
    try:
        fake.push_fault(Fault.status(500, message=INTERNAL, headers={"x-request-id": "req_vid_9"}, path="/videos"),
                        times=100)
        gw = make_gateway(config={
            "providers": {"fake-video": {"kind": "openai", "base_url": fake.base_url, "api_key_env": "FAKE_V_KEY"}},
            "models": [{"id": "v/sora", "type": "video", "provider": "fake-video", "upstream_model": "sora-2",
                        "sizes": ["320x240"], "max_seconds": 4, "default_seconds": 1}]},
            env={"FAKE_V_KEY": "sk-fake-video", "TOKENYARD_VIDEO_UPSTREAM_POLL_SECONDS": "0.2"})
        with gw.http() as http:
            job = http.post("/v1/videos", json={"model": "v/sora", "prompt": "p", "seconds": "1",
                                                "size": "320x240"}).json()
            deadline = time.monotonic() + 30
            while job["status"] not in ("failed", "completed") and time.monotonic() < deadline:
                time.sleep(0.3)
                job = http.get(f"/v1/videos/{job['id']}").json()
        assert job["status"] == "failed", job
        shown = json.dumps(job)
        assert not [leak for leak in LEAKS if leak in shown], shown
        assert "HTTP 500" in shown and "req_vid_9" in shown
        assert "worker.py line 42" in gw.logs() and "hunter2" not in gw.logs()
    finally:
        fake.stop()
