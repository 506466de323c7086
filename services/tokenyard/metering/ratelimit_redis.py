"""The Redis rate-limit backend: one Lua script checks and counts every bucket of a request atomically,
so any number of facade/router replicas share one limit."""
from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tokenyard.metering.ratelimit import WINDOW, Buckets, Decision, Limit, decide
from tokenyard.monitoring.metrics import RATE_LIMIT_BACKEND_ERRORS

# One hash per scope: `r` and `t`, the theoretical arrival times of its requests and tokens buckets (see
# tokenyard.metering.ratelimit). KEYS: one per scope. ARGV: now, tokens of this request, window, then rpm
# and tpm of each scope. Returns each scope's r and t before the call (as strings: Lua numbers would be
# truncated to integers), then 1 when the request was admitted and counted everywhere, else 0.
_LUA_COMMON = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[3])
local function drained(tat, limit, cost)
  if cost > limit then cost = limit end
  return math.max(tat, now) + cost * window / limit
end
local function keep(key, r, t)
  redis.call('HSET', key, 'r', tostring(r), 't', tostring(t))
  redis.call('PEXPIRE', key, math.max(1, math.ceil((math.max(r, t) - now) * 1000)) + 1000)
end
"""
_ACQUIRE = _LUA_COMMON + """
local cost = tonumber(ARGV[2])
local out, ok, new = {}, 1, {}
for i = 1, #KEYS do
  local r = tonumber(redis.call('HGET', KEYS[i], 'r') or '0')
  local t = tonumber(redis.call('HGET', KEYS[i], 't') or '0')
  local rpm, tpm = tonumber(ARGV[2 + i * 2]), tonumber(ARGV[3 + i * 2])
  local nr, nt = r, t
  if rpm > 0 then
    nr = drained(r, rpm, 1)
    if nr - now > window + 1e-6 then ok = 0 end
  end
  if tpm > 0 then
    nt = drained(t, tpm, cost)
    if nt - now > window + 1e-6 then ok = 0 end
  end
  out[#out + 1] = tostring(r); out[#out + 1] = tostring(t)
  new[i] = {nr, nt}
end
if ok == 1 then
  for i = 1, #KEYS do keep(KEYS[i], new[i][1], new[i][2]) end
end
out[#out + 1] = tostring(ok)
return out
"""
# Tokens learned after the fact drain the tokens bucket, never below empty. ARGV: now, tokens, window, tpm...
_ADD_TOKENS = _LUA_COMMON + """
local tokens = tonumber(ARGV[2])
for i = 1, #KEYS do
  local tpm = tonumber(ARGV[3 + i])
  if tpm > 0 then
    local r = tonumber(redis.call('HGET', KEYS[i], 'r') or '0')
    local t = tonumber(redis.call('HGET', KEYS[i], 't') or '0')
    keep(KEYS[i], r, math.min(now + window, math.max(t, now) + tokens * window / tpm))
  end
end
return 1
"""


log = logging.getLogger(__name__)
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
        self._acquire_script = self._redis.register_script(_ACQUIRE)
        self._add_script = self._redis.register_script(_ADD_TOKENS)

    def _key(self, scope: str) -> str:
        return f"{self._prefix}rl2:{scope}"

    async def acquire(self, limits: Sequence[Limit], tokens: int) -> Decision:
        try:
            return await self._acquire(limits, tokens)
        except _DOWN as exc:
            RATE_LIMIT_BACKEND_ERRORS.inc()
            log.warning("rate limits not checked: Redis unavailable (%s)", type(exc).__name__)
            return Decision(allowed=True, retry_after=0.0)

    async def _acquire(self, limits: Sequence[Limit], tokens: int) -> Decision:
        now = self._clock()
        args: list[str | int] = [repr(now), tokens, repr(WINDOW)]
        for lim in limits:
            args += [lim.rpm, lim.tpm]
        raw = await self._acquire_script(keys=[self._key(lim.scope) for lim in limits], args=args)
        ok = raw.pop() in (b"1", "1", 1)
        states = [Buckets(float(raw[i]), float(raw[i + 1])) for i in range(0, len(raw), 2)]
        decision = decide(limits, states, now, tokens)
        if decision.allowed != ok:  # float rounding at the exact edge: the script's count is what happened
            decision = dataclasses.replace(decision, allowed=ok, retry_after=0.0 if ok else max(decision.retry_after, 0.05))
        return decision

    async def add_tokens(self, limits: Sequence[Limit], tokens: int) -> None:
        try:
            await self._add_tokens(limits, tokens)
        except _DOWN as exc:
            RATE_LIMIT_BACKEND_ERRORS.inc()
            log.warning("tokens not counted: Redis unavailable (%s)", type(exc).__name__)

    async def _add_tokens(self, limits: Sequence[Limit], tokens: int) -> None:
        limited = [lim for lim in limits if lim.tpm]
        if limited and tokens > 0:
            await self._add_script(keys=[self._key(lim.scope) for lim in limited],
                                   args=[repr(self._clock()), tokens, repr(WINDOW), *(lim.tpm for lim in limited)])

    async def close(self) -> None:
        await self._redis.aclose()
