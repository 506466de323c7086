"""The Redis rate-limit backend: one Lua script checks and counts every limit of a request atomically,
so any number of facade/router replicas share one limit."""
from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence

import redis.asyncio as aioredis
from prometheus_client import Counter
from redis.exceptions import RedisError

from tokenyard.metering.ratelimit import WINDOW, Decision, Limit, Usage, decide

# KEYS: 4 per scope (requests current/previous window, tokens current/previous window).
# ARGV: weight of the previous window, tokens of this request, key TTL, then rpm and tpm of each scope.
_ACQUIRE = """
local weight, cost, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local n = #KEYS / 4
local out, ok = {}, 1
for i = 0, n - 1 do
  local rc = tonumber(redis.call('GET', KEYS[i*4+1]) or '0')
  local rp = tonumber(redis.call('GET', KEYS[i*4+2]) or '0')
  local tc = tonumber(redis.call('GET', KEYS[i*4+3]) or '0')
  local tp = tonumber(redis.call('GET', KEYS[i*4+4]) or '0')
  local rpm, tpm = tonumber(ARGV[4+i*2]), tonumber(ARGV[5+i*2])
  if rpm > 0 and rp * weight + rc + 1 > rpm then ok = 0 end
  if tpm > 0 and tp * weight + tc + cost > tpm then ok = 0 end
  out[#out+1] = rp; out[#out+1] = rc; out[#out+1] = tp; out[#out+1] = tc
end
if ok == 1 then
  for i = 0, n - 1 do
    redis.call('INCR', KEYS[i*4+1]); redis.call('EXPIRE', KEYS[i*4+1], ttl)
    redis.call('INCRBY', KEYS[i*4+3], cost); redis.call('EXPIRE', KEYS[i*4+3], ttl)
  end
end
out[#out+1] = ok
return out
"""


log = logging.getLogger(__name__)
UNAVAILABLE = Counter("tokenyard_rate_limit_backend_errors_total",
                      "Rate-limit checks skipped because Redis was unreachable (requests let through).")
_DOWN = (RedisError, OSError, TimeoutError)


class RedisRateLimiter:
    """Limits shared through Redis (`TOKENYARD_REDIS_URL`); keys start with `prefix`.

    Fails open: when Redis is unreachable or silent for `timeout` seconds, the request is let through
    without limit headers (and counted in tokenyard_rate_limit_backend_errors_total); limits apply again
    as soon as Redis answers, with no restart.
    """

    def __init__(self, url: str, prefix: str = "tokenyard:", clock: Callable[[], float] = time.time,
                 timeout: float = 0.5) -> None:
        self._redis = aioredis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._prefix = prefix
        self._clock = clock
        self._script = self._redis.register_script(_ACQUIRE)

    def _keys(self, scope: str, w: int) -> list[str]:
        base = f"{self._prefix}rl:{scope}"
        return [f"{base}:r:{w}", f"{base}:r:{w - 1}", f"{base}:t:{w}", f"{base}:t:{w - 1}"]

    async def acquire(self, limits: Sequence[Limit], tokens: int) -> Decision:
        try:
            return await self._acquire(limits, tokens)
        except _DOWN as exc:
            UNAVAILABLE.inc()
            log.warning("rate limits not checked: Redis unavailable (%s)", type(exc).__name__)
            return Decision(allowed=True, retry_after=0.0)

    async def _acquire(self, limits: Sequence[Limit], tokens: int) -> Decision:
        now = self._clock()
        w = int(now // WINDOW)
        elapsed = now - w * WINDOW
        keys = [k for lim in limits for k in self._keys(lim.scope, w)]
        args: list[str | int] = [repr(1.0 - elapsed / WINDOW), tokens, int(2 * WINDOW + 10)]
        for lim in limits:
            args += [lim.rpm, lim.tpm]
        raw = [int(x) for x in await self._script(keys=keys, args=args)]
        ok = raw.pop() == 1
        usages = [Usage(req_prev=raw[i], req_cur=raw[i + 1], tok_prev=raw[i + 2], tok_cur=raw[i + 3])
                  for i in range(0, len(raw), 4)]
        decision = decide(limits, usages, elapsed, tokens)
        if decision.allowed != ok:  # float rounding at the exact edge: the script's count is what happened
            decision = dataclasses.replace(decision, allowed=ok, retry_after=0.0 if ok else max(decision.retry_after, 0.05))
        return decision

    async def add_tokens(self, limits: Sequence[Limit], tokens: int) -> None:
        try:
            await self._add_tokens(limits, tokens)
        except _DOWN as exc:
            UNAVAILABLE.inc()
            log.warning("tokens not counted: Redis unavailable (%s)", type(exc).__name__)

    async def _add_tokens(self, limits: Sequence[Limit], tokens: int) -> None:
        w = int(self._clock() // WINDOW)
        async with self._redis.pipeline(transaction=False) as pipe:
            for lim in limits:
                key = self._keys(lim.scope, w)[2]
                pipe.incrby(key, tokens)
                pipe.expire(key, int(2 * WINDOW + 10))
            await pipe.execute()

    async def close(self) -> None:
        await self._redis.aclose()
