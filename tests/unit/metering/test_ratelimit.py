"""The token-bucket limiter and the rate-limit policy (key, app and default limits, headers, refusals)."""
from __future__ import annotations

import pytest
from tokenyard.catalog import load_catalog
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.inference.context import CallContext
from tokenyard.inference.ratelimit_policy import RateLimitPolicy, app_limits, limits_for
from tokenyard.metering.ratelimit import WINDOW, Limit, MemoryRateLimiter, duration
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
        ctx.app_config = app_config
    return ctx


async def test_buckets_refill_evenly_and_every_duration_stays_within_the_window() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    lim = [Limit("k", rpm=10)]
    resets = []
    for left in range(9, -1, -1):
        d = await limiter.acquire(lim, 0)
        assert d.allowed and d.remaining_requests == left
        resets.append(d.reset_requests)
    assert resets == pytest.approx([6.0 * i for i in range(1, 11)])  # until the bucket is full again
    refused = await limiter.acquire(lim, 0)
    assert not refused.allowed and refused.retry_after == pytest.approx(6.0)  # one request refills in 6 s
    assert refused.reset_requests == pytest.approx(60.0) and refused.remaining_requests == 0
    clock.t += 6
    assert (await limiter.acquire(lim, 0)).allowed
    assert not (await limiter.acquire(lim, 0)).allowed
    clock.t += 30
    d = await limiter.acquire(lim, 0)
    assert d.allowed and d.remaining_requests == 4  # 5 refilled in 30 s, this one taken


async def test_retry_after_never_exceeds_the_reset_or_the_window() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    lim = [Limit("k", rpm=2, tpm=100)]
    for step in range(200):
        d = await limiter.acquire(lim, 30 + step % 50)
        if not step % 7:
            await limiter.add_tokens(lim, 5_000)  # completions far over the limit: the bucket only empties
        assert 0 <= d.retry_after <= WINDOW and d.reset_requests <= WINDOW and d.reset_tokens <= WINDOW
        if not d.allowed:
            assert d.retry_after <= max(d.reset_requests, d.reset_tokens) + 1e-9
        clock.t += 1.7


async def test_a_request_bigger_than_the_whole_limit_waits_for_a_full_bucket() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    lim = [Limit("k", tpm=100)]
    assert (await limiter.acquire(lim, 500)).allowed  # takes the whole bucket
    refused = await limiter.acquire(lim, 500)
    assert not refused.allowed and refused.retry_after == pytest.approx(60.0)
    clock.t += 60
    assert (await limiter.acquire(lim, 500)).allowed


async def test_all_limits_or_none_are_counted() -> None:
    limiter = MemoryRateLimiter(Clock())
    both = [Limit("key", rpm=100), Limit("app", rpm=1)]
    assert (await limiter.acquire(both, 0)).allowed
    assert not (await limiter.acquire(both, 0)).allowed
    d = await limiter.acquire([Limit("key", rpm=100)], 0)
    assert d.remaining_requests == 98  # the refused call was not counted on the key


def test_durations() -> None:
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
    default = Limit("default", rpm=100, tpm=1000)
    assert limits_for(_ctx(), default) == [Limit("default:key:key_1", 100, 1000)]
    assert limits_for(_ctx(rpm=5), default) == [Limit("key:key_1", 5, 0), Limit("default:key:key_1", 0, 1000)]
    assert limits_for(_ctx(rpm=5, tpm=50), default) == [Limit("key:key_1", 5, 50)]  # nothing left to default


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
