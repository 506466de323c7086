"""Rate limits end to end: per-key rpm/tpm with 429 + Retry-After and OpenAI's x-ratelimit-* headers, and one
limit shared by two gateway processes through Redis."""
from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import openai
import pytest

from tests.conftest import REDIS_URL, needs_redis
from tests.e2e.metering_helpers import create_key
from tests.harness.gateway import Gateway

BODY = {"model": "local/echo", "messages": [{"role": "user", "content": "hi"}]}


def _post(gw: Gateway, key: str, body: dict[str, object] = BODY) -> httpx.Response:
    return httpx.post(f"{gw.url}/v1/chat/completions", json=body, timeout=30,
                      headers={"authorization": f"Bearer {key}"})


def test_key_rpm_limit_answers_429_with_retry_after_and_headers(gateway: Gateway) -> None:
    _, key = create_key(gateway, f"rl-{uuid.uuid4().hex[:6]}", rpm=3)
    responses = [_post(gateway, key) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert [r.headers["x-ratelimit-remaining-requests"] for r in responses] == ["2", "1", "0"]
    assert all(r.headers["x-ratelimit-limit-requests"] == "3" for r in responses)
    assert responses[0].headers["x-ratelimit-reset-requests"].endswith("s")
    assert responses[0].headers["x-ratelimit-limit-tokens"] == "60000000"  # no tpm on this key: the default
    refused = _post(gateway, key)
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    with pytest.raises(openai.RateLimitError):
        gateway.openai(key=key).chat.completions.create(**BODY)  # type: ignore[arg-type]
    stream = httpx.post(f"{gateway.url}/v1/chat/completions", json={**BODY, "stream": True}, timeout=30,
                        headers={"authorization": f"Bearer {key}"})
    assert stream.status_code == 429


def test_key_tpm_limit_counts_prompt_and_completion_tokens(gateway: Gateway) -> None:
    _, key = create_key(gateway, f"tpm-{uuid.uuid4().hex[:6]}", tpm=60)
    body = {"model": "local/echo", "messages": [{"role": "user", "content": "one two three four five six"}]}
    first = _post(gateway, key, body)
    assert first.status_code == 200
    used = first.json()["usage"]["total_tokens"]
    assert first.headers["x-ratelimit-limit-tokens"] == "60"
    assert int(first.headers["x-ratelimit-remaining-tokens"]) == 60 - first.json()["usage"]["prompt_tokens"]
    statuses = [_post(gateway, key, body).status_code for _ in range(60 // used + 1)]
    assert statuses[-1] == 429 and 200 in statuses[:1]
    # No rpm on this key: the requests headers report the gateway default (TOKENYARD_DEFAULT_RPM).
    assert _post(gateway, key, body).headers["x-ratelimit-limit-requests"] == "60000"


def test_streaming_responses_carry_rate_limit_headers(gateway: Gateway) -> None:
    _, key = create_key(gateway, f"st-{uuid.uuid4().hex[:6]}", rpm=100, tpm=100_000)
    with httpx.stream("POST", f"{gateway.url}/v1/chat/completions", json={**BODY, "stream": True}, timeout=30,
                      headers={"authorization": f"Bearer {key}"}) as r:
        assert r.status_code == 200
        assert r.headers["x-ratelimit-remaining-requests"] == "99"
        assert int(r.headers["x-ratelimit-remaining-tokens"]) < 100_000
        list(r.iter_lines())


def test_keys_without_limits_get_the_default_limit_headers(gateway: Gateway) -> None:
    r = _post(gateway, gateway.admin_key)
    assert r.status_code == 200
    assert (r.headers["x-ratelimit-limit-requests"], r.headers["x-ratelimit-limit-tokens"]) == ("60000", "60000000")


@needs_redis
def test_two_gateways_sharing_redis_enforce_one_limit(make_gateway: Callable[..., Gateway], tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"TOKENYARD_REDIS_URL": REDIS_URL, "TOKENYARD_REDIS_PREFIX": f"test-{uuid.uuid4().hex}:",
           "TOKENYARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"}
    a = make_gateway(env=env, name="a")
    b = make_gateway(env=env, name="b")
    _, key = create_key(a, "shared", rpm=6)
    statuses = [_post(gw, key).status_code for gw in (a, b) * 5]
    assert statuses[:6] == [200] * 6
    assert statuses[6:] == [429] * 4  # each process alone would have allowed 6
