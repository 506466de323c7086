"""Issue 19: rate-limit headers on every response (the key's, the app's or the documented gateway default), and
a reset, Retry-After and chat-app details that agree with each other and stay within the 60 s window."""
from __future__ import annotations

import time

import httpx

from tests.e2e.api19_fixtures import Api19, api19  # noqa: F401  (fixture)
from tests.e2e.chat_app_gateway import send
from tests.e2e.tenancy_fixtures import new_app, new_key

BODY = {"model": "local/echo", "messages": [{"role": "user", "content": "hi"}]}
HEADERS = ("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
           "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens")
DEFAULT_RPM, DEFAULT_TPM = "60000", "60000000"  # settings.default_rpm / default_tpm, documented in README


def seconds(value: str) -> float:
    """An OpenAI duration (`1.5s`, `1m0s`) in seconds."""
    minutes, _, rest = value.rpartition("m")
    return float(minutes or 0) * 60 + float(rest.rstrip("s"))


def test_every_response_carries_rate_limit_headers_without_a_configured_limit(api19: Api19) -> None:
    _, user = api19.user("nolimit")
    for client in (api19.gw.http(), user):
        r = client.post("/v1/chat/completions", json=BODY)
        assert r.status_code == 200, r.text
        assert all(h in r.headers for h in HEADERS), dict(r.headers)
        assert (r.headers["x-ratelimit-limit-requests"], r.headers["x-ratelimit-limit-tokens"]) == (
            DEFAULT_RPM, DEFAULT_TPM)
        assert seconds(r.headers["x-ratelimit-reset-requests"]) <= 60
        with client.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True}) as s:
            assert s.status_code == 200 and all(h in s.headers for h in HEADERS)
            s.read()
    turn = send(user, {"model": "local/echo", "messages": [{"role": "user", "content": "hello"}]})
    assert turn.status == 200 and int(turn.headers["x-ratelimit-remaining"]) > 0


def test_a_key_limit_is_the_effective_one_and_tokens_fall_back_to_the_default(api19: Api19) -> None:
    _, user = api19.user("keylimit")
    key = new_key(user, name="limited", scopes=["ai:gateway"], rpm=1000)["key"]
    r = api19.gw.http(key).post("/v1/chat/completions", json=BODY)
    assert r.headers["x-ratelimit-limit-requests"] == "1000" and r.headers["x-ratelimit-remaining-requests"] == "999"
    assert r.headers["x-ratelimit-limit-tokens"] == DEFAULT_TPM


def _agree(refused: httpx.Response, last_reset: float, asked_at: float) -> int:
    """Checks a 429 against the 200 before it; returns its Retry-After."""
    retry = int(refused.headers["retry-after"])
    reset = seconds(refused.headers["x-ratelimit-reset-requests"])
    assert 1 <= retry <= 60 and reset <= 60
    assert retry <= reset + 1  # the next request fits no later than the bucket is full again
    assert retry <= last_reset - (time.time() - asked_at) + 1  # and no later than the previous 200 said
    return retry


def test_rpm_2_reset_retry_after_and_details_agree_within_the_window(api19: Api19) -> None:
    _, user = api19.user("rpm2")
    key = api19.gw.http(new_key(user, name="rpm2", scopes=["ai:gateway"], rpm=2)["key"])
    first, second = key.post("/v1/chat/completions", json=BODY), key.post("/v1/chat/completions", json=BODY)
    asked_at = time.time()
    assert [first.status_code, second.status_code] == [200, 200]
    assert [first.headers["x-ratelimit-remaining-requests"], second.headers["x-ratelimit-remaining-requests"]] == [
        "1", "0"]
    resets = [seconds(r.headers["x-ratelimit-reset-requests"]) for r in (first, second)]
    assert 0 < resets[0] <= resets[1] <= 60
    refused = key.post("/v1/chat/completions", json=BODY)
    assert refused.status_code == 429 and refused.json()["error"]["type"] == "rate_limit_error"
    retry = _agree(refused, resets[1], asked_at)
    # The chat app says the same: Retry-After, details.retryAfter and details.reset (epoch ms) agree.
    turn = send(key, {"model": "local/echo", "messages": [{"role": "user", "content": "hello"}]})
    now = time.time()
    assert turn.status == 429 and turn.body["code"] == "RATE_LIMITED", turn.body
    details = turn.body["details"]
    header = int(turn.headers["retry-after"])
    assert 1 <= header <= 60 and abs(details["retryAfter"] - header) < 1 and abs(header - retry) <= 1
    assert abs(details["reset"] / 1000 - (now + details["retryAfter"])) < 2  # at most 60 s ahead
    assert details["reset"] / 1000 - now <= 60 and details["remaining"] == 0
    assert turn.headers["x-ratelimit-remaining"] == "0"


def test_app_rpm_2_on_the_app_route(api19: Api19) -> None:
    _, user = api19.user("apprpm")
    app = new_app(user, "limited", rateLimits={"rpm": 2, "tpm": 0})
    codes = [user.post(f"/v1/{app}/chat/completions", json=BODY) for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[0].headers["x-ratelimit-limit-requests"] == "2"
    assert codes[0].headers["x-ratelimit-limit-tokens"] == DEFAULT_TPM  # the app sets no tpm: the default
    assert 1 <= int(codes[2].headers["retry-after"]) <= 30  # one request refills in 60/2 s
