"""The sliding-window limiter and the rate-limit policy (key and app limits, headers, refusals)."""
from __future__ import annotations

import pytest
from tokenyard.catalog import load_catalog
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.inference.context import CallContext
from tokenyard.inference.ratelimit_policy import RateLimitPolicy, app_limits, limits_for
from tokenyard.metering.ratelimit import Limit, MemoryRateLimiter, duration, wait_for
from tokenyard.principal import Principal, PrincipalKind


class Clock:
    def __init__(self, t: float = 6000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _ctx(rpm: int = 0, tpm: int = 0, app_config: object = None, app_id: str = "") -> CallContext:
    p = Principal("acct", PrincipalKind.PERSONAL_KEY, frozenset({"ai:gateway"}), key_id="key_1", rpm=rpm, tpm=tpm)
    ctx = CallContext(request_id="r", principal=p, app_id=app_id,
                      request={"model": "local/echo", "messages": [{"role": "user", "content": "hello world"}]})
    ctx.model = load_catalog().resolve("local/echo")
    if app_config is not None:
        ctx.extras["app_config"] = app_config
    return ctx


async def test_window_slides_instead_of_resetting() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    lim = [Limit("k", rpm=10)]
    for _ in range(10):
        assert (await limiter.acquire(lim, 0)).allowed
    refused = await limiter.acquire(lim, 0)
    assert not refused.allowed and refused.retry_after == pytest.approx(66.0)  # 60 s + 10% of the next
    clock.t += 60 + 6  # next window, 10% in: the previous window still weighs 9 requests
    assert (await limiter.acquire(lim, 0)).allowed
    assert not (await limiter.acquire(lim, 0)).allowed
    clock.t += 30
    d = await limiter.acquire(lim, 0)
    assert d.allowed and d.remaining_requests == 4  # 10 * 0.4 + 1 before this one: 10 - 5 - 1 left


async def test_all_limits_or_none_are_counted() -> None:
    limiter = MemoryRateLimiter(Clock())
    both = [Limit("key", rpm=100), Limit("app", rpm=1)]
    assert (await limiter.acquire(both, 0)).allowed
    assert not (await limiter.acquire(both, 0)).allowed
    d = await limiter.acquire([Limit("key", rpm=100)], 0)
    assert d.remaining_requests == 98  # the refused call was not counted on the key


def test_wait_for_and_durations() -> None:
    assert wait_for(0, 5, 10.0, 10, 1) == 0
    assert wait_for(0, 10, 10.0, 10, 1) == pytest.approx(50 + 6)
    assert wait_for(10, 0, 0.0, 10, 1) == pytest.approx(6.0)  # until the previous window weighs 9
    assert duration(0.25) == "0.25s" and duration(75) == "1m15s" and duration(-1) == "0s"


def test_app_limits_read_dicts_and_objects() -> None:
    class Cfg:
        rpm, tpm = 5, 50

    assert app_limits({"rateLimits": {"rpm": 7, "tpm": 70}}) == (7, 70)
    assert app_limits({"rpm": 3}) == (3, 0)
    assert app_limits(Cfg()) == (5, 50)
    assert app_limits(None) == (0, 0)
    scopes = [lim.scope for lim in limits_for(_ctx(rpm=1, app_config={"rateLimits": {"rpm": 2}}, app_id="app_1"))]
    assert scopes == ["key:key_1", "app:app_1"]


async def test_policy_sets_headers_and_refuses_on_the_app_limit() -> None:
    policy = RateLimitPolicy(MemoryRateLimiter(Clock()))
    first = _ctx(app_config={"rateLimits": {"rpm": 1, "tpm": 1000}}, app_id="app_9")
    await policy.admit(first)
    assert first.response_metadata["x-ratelimit-limit-requests"] == "1"
    assert first.response_metadata["x-ratelimit-remaining-requests"] == "0"
    first.prompt_tokens, first.completion_tokens = 13, 500
    await policy.finish(first)
    second = _ctx(app_config={"rateLimits": {"rpm": 1, "tpm": 1000}}, app_id="app_9")
    with pytest.raises(GatewayError) as info:
        await policy.admit(second)
    err = info.value
    assert err.kind is ErrorKind.RATE_LIMITED and err.retry_after and err.retry_after > 0
    assert err.metadata["x-ratelimit-remaining-tokens"] == str(1000 - 513)  # the refused call is not counted
    assert err.metadata["remaining"] == "0" and int(err.metadata["reset"]) > 0
