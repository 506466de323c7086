"""Requests- and tokens-per-minute limits: a sliding-window counter, in-process or shared through Redis.

The estimate for a scope is `previous window * (1 - elapsed/60) + current window` (Cloudflare's sliding
window counter): no burst of twice the limit at a window edge, two integers per scope and window. A request
is checked against every limit that applies to it (key, app) and counted in all of them, or in none.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

WINDOW = 60.0


@dataclass(frozen=True)
class Limit:
    """One limited scope, e.g. `key:<id>` or `app:<id>`; 0 means unlimited."""

    scope: str
    rpm: int = 0
    tpm: int = 0


@dataclass(frozen=True)
class Usage:
    """A scope's counters: requests and tokens of the previous and current windows."""

    req_prev: int = 0
    req_cur: int = 0
    tok_prev: int = 0
    tok_cur: int = 0


def _estimate(prev: int, cur: int, elapsed: float) -> float:
    return prev * (1.0 - elapsed / WINDOW) + cur


def wait_for(prev: int, cur: int, elapsed: float, limit: int, cost: int) -> float:
    """Seconds until `cost` more fits under `limit` (the estimate decays as the windows slide)."""
    room = limit - cost
    if room < 0:
        return 2 * WINDOW - elapsed
    if _estimate(prev, cur, elapsed) <= room:
        return 0.0
    if prev > 0 and room - cur >= 0:
        return max(0.0, WINDOW * (1 - (room - cur) / prev) - elapsed)
    left = WINDOW - elapsed
    if cur <= room:
        return left
    return left + WINDOW * (1 - room / cur)


@dataclass(frozen=True)
class Decision:
    """Outcome of one check, with the state of the tightest limits for the `x-ratelimit-*` headers."""

    allowed: bool
    retry_after: float
    limit_requests: int = 0
    remaining_requests: int = 0
    reset_requests: float = 0.0
    limit_tokens: int = 0
    remaining_tokens: int = 0
    reset_tokens: float = 0.0

    def headers(self) -> dict[str, str]:
        """OpenAI's rate-limit headers for the limits that apply."""
        out: dict[str, str] = {}
        if self.limit_requests:
            out.update({"x-ratelimit-limit-requests": str(self.limit_requests),
                        "x-ratelimit-remaining-requests": str(self.remaining_requests),
                        "x-ratelimit-reset-requests": duration(self.reset_requests)})
        if self.limit_tokens:
            out.update({"x-ratelimit-limit-tokens": str(self.limit_tokens),
                        "x-ratelimit-remaining-tokens": str(self.remaining_tokens),
                        "x-ratelimit-reset-tokens": duration(self.reset_tokens)})
        return out


def duration(seconds: float) -> str:
    """A duration the way OpenAI writes it: `0s`, `1.5s`, `6m0s`."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{round(seconds, 3):g}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{round(rest, 3):g}s"


def decide(limits: Sequence[Limit], usages: Sequence[Usage], elapsed: float, tokens: int) -> Decision:
    """Whether one request of `tokens` fits every limit; header values come from the tightest ones
    (remaining counts include this request only when it is admitted)."""
    checks = []  # (dimension, limit, prev window, current window, cost) of every limit that applies
    for lim, u in zip(limits, usages):
        if lim.rpm:
            checks.append(("req", lim.rpm, u.req_prev, u.req_cur, 1))
        if lim.tpm:
            checks.append(("tok", lim.tpm, u.tok_prev, u.tok_cur, tokens))
    waits = [wait_for(prev, cur, elapsed, limit, cost) for _, limit, prev, cur, cost in checks]
    allowed = all(w == 0 for w in waits)
    tight: dict[str, tuple[int, int, float]] = {}
    for (dim, limit, prev, cur, cost), w in zip(checks, waits):
        left = max(0, math.floor(limit - _estimate(prev, cur, elapsed) - (cost if allowed else 0)))
        if dim not in tight or left < tight[dim][1]:
            tight[dim] = (limit, left, w or WINDOW - elapsed)
    req, tok = tight.get("req", (0, 0, 0.0)), tight.get("tok", (0, 0, 0.0))
    return Decision(allowed=allowed, retry_after=max(waits, default=0.0), limit_requests=req[0],
                    remaining_requests=req[1], reset_requests=req[2], limit_tokens=tok[0],
                    remaining_tokens=tok[1], reset_tokens=tok[2])


class RateLimiter(Protocol):
    """Checks and counts requests against limits."""

    async def acquire(self, limits: Sequence[Limit], tokens: int) -> Decision:
        """Count one request of `tokens` (estimated) in every scope when all limits allow it."""

    async def add_tokens(self, limits: Sequence[Limit], tokens: int) -> None:
        """Count tokens learned after the fact (the completion)."""

    async def close(self) -> None:
        """Release connections."""


class MemoryRateLimiter:
    """Single-process limiter for the all-in-one gateway. Atomic because it never awaits mid-update."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counts: dict[tuple[str, int], list[int]] = {}

    def _usage(self, scope: str, w: int) -> Usage:
        prev = self._counts.get((scope, w - 1), [0, 0])
        cur = self._counts.get((scope, w), [0, 0])
        return Usage(prev[0], cur[0], prev[1], cur[1])

    def _gc(self, w: int) -> None:
        if len(self._counts) > 100_000:
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= w - 1}

    async def acquire(self, limits: Sequence[Limit], tokens: int) -> Decision:
        now = self._clock()
        w = int(now // WINDOW)
        self._gc(w)
        decision = decide(limits, [self._usage(lim.scope, w) for lim in limits], now - w * WINDOW, tokens)
        if decision.allowed:
            for lim in limits:
                cell = self._counts.setdefault((lim.scope, w), [0, 0])
                cell[0] += 1
                cell[1] += tokens
        return decision

    async def add_tokens(self, limits: Sequence[Limit], tokens: int) -> None:
        w = int(self._clock() // WINDOW)
        for lim in limits:
            self._counts.setdefault((lim.scope, w), [0, 0])[1] += tokens

    async def close(self) -> None:
        return None
