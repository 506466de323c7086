"""The Redis limiter: many concurrent callers through separate connections share one exact limit."""
from __future__ import annotations

import asyncio
import uuid

from tests.conftest import REDIS_URL, needs_redis
from tokenyard.metering.ratelimit import Limit
from tokenyard.metering.ratelimit_redis import RedisRateLimiter


@needs_redis
async def test_concurrent_replicas_admit_exactly_the_limit() -> None:
    prefix = f"test-{uuid.uuid4().hex}:"
    replicas = [RedisRateLimiter(REDIS_URL, prefix, clock=lambda: 6000.0) for _ in range(3)]
    limits = [Limit("key:k", rpm=25, tpm=10_000), Limit("app:a", rpm=1000)]
    try:
        results = await asyncio.gather(*(replicas[i % 3].acquire(limits, 100) for i in range(60)))
        assert sum(d.allowed for d in results) == 25
        assert min(d.remaining_requests for d in results if d.allowed) == 0
        refused = next(d for d in results if not d.allowed)
        assert refused.retry_after > 0 and refused.headers()["x-ratelimit-limit-requests"] == "25"
        assert refused.retry_after <= refused.reset_requests <= 60  # within the window, and they agree
        await replicas[0].add_tokens(limits, 7_450)
        d = await replicas[1].acquire([Limit("key:k", tpm=10_000)], 100)
        assert not d.allowed and d.remaining_tokens == 10_000 - 2_500 - 7_450
        app = await replicas[2].acquire([Limit("app:a", rpm=1000)], 0)
        assert app.remaining_requests == 1000 - 25 - 1  # refused calls were counted nowhere
    finally:
        for r in replicas:
            await r.close()
