"""Requests- and tokens-per-minute limits as token buckets (GCRA), in-process or shared through Redis.

Each limited dimension of a scope is a bucket of `limit` units that refills evenly over one minute; it is
stored as one number, its theoretical arrival time (`tat`): the moment the bucket will be full again (a `tat`
in the past means full). A request costing `c` units fits when `max(tat, now) + c * 60/limit - now <= 60`.
Every duration this produces stays within the 60 s window, and they agree with each other:

- `x-ratelimit-reset-*` is the time until the bucket is full again (OpenAI: "resets to its initial state");
- `Retry-After` on a 429 is the time until this request fits, never more than that reset;
- tokens learned after the fact (completions) drain the bucket but never below empty, and a request bigger
  than the whole limit needs a full bucket (it is not refused forever).

A request is checked against every limit that applies to it (key, app, or the gateway default) and counted in
all of them, or in none.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

WINDOW = 60.0
_EPS = 1e-6


@dataclass(frozen=True)
class Limit:
    """One limited scope, e.g. `key:<id>` or `app:<id>`; 0 means unlimited."""

    scope: str
    rpm: int = 0
    tpm: int = 0


@dataclass(frozen=True)
class Buckets:
    """A scope's two buckets as theoretical arrival times (epoch seconds; <= now means full)."""

    requests: float = 0.0
    tokens: float = 0.0


def drained(tat: float, now: float, limit: int, cost: int) -> float:
    """The bucket's new `tat` after `cost` units (a cost above the limit takes the whole bucket)."""
    return max(tat, now) + min(cost, limit) * WINDOW / limit


def fits(tat: float, now: float, limit: int, cost: int) -> bool:
    """Whether `cost` units fit in the bucket now."""
    return drained(tat, now, limit, cost) - now <= WINDOW + _EPS


def remaining(tat: float, now: float, limit: int) -> int:
    """Whole units left in the bucket."""
    return max(0, min(limit, math.floor((WINDOW - max(0.0, tat - now)) * limit / WINDOW + _EPS)))


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


def _checks(limits: Sequence[Limit], states: Sequence[Buckets], tokens: int) -> list[tuple[str, int, float, int]]:
    """(dimension, limit, tat, cost) of every bucket that applies."""
    out = []
    for lim, b in zip(limits, states):
        if lim.rpm:
            out.append(("req", lim.rpm, b.requests, 1))
        if lim.tpm:
            out.append(("tok", lim.tpm, b.tokens, tokens))
    return out


def decide(limits: Sequence[Limit], states: Sequence[Buckets], now: float, tokens: int) -> Decision:
    """Whether one request of `tokens` fits every limit; header values come from the tightest ones
    (remaining counts and resets include this request only when it is admitted)."""
    checks = _checks(limits, states, tokens)
    allowed = all(fits(tat, now, limit, cost) for _, limit, tat, cost in checks)
    waits = [max(0.0, drained(tat, now, limit, cost) - now - WINDOW) for _, limit, tat, cost in checks]
    tight: dict[str, tuple[int, int, float]] = {}
    for dim, limit, tat, cost in checks:
        after = drained(tat, now, limit, cost) if allowed else tat
        left, reset = remaining(after, now, limit), min(WINDOW, max(0.0, after - now))
        if dim not in tight or left < tight[dim][1] or (left == tight[dim][1] and reset > tight[dim][2]):
            tight[dim] = (limit, left, reset)
    req, tok = tight.get("req", (0, 0, 0.0)), tight.get("tok", (0, 0, 0.0))
    return Decision(allowed=allowed, retry_after=0.0 if allowed else min(WINDOW, max(waits, default=0.0)),
                    limit_requests=req[0], remaining_requests=req[1], reset_requests=req[2],
                    limit_tokens=tok[0], remaining_tokens=tok[1], reset_tokens=tok[2])


def admitted(limits: Sequence[Limit], states: Sequence[Buckets], now: float, tokens: int) -> list[Buckets]:
    """The scopes' buckets after admitting one request of `tokens`."""
    return [Buckets(drained(b.requests, now, lim.rpm, 1) if lim.rpm else b.requests,
                    drained(b.tokens, now, lim.tpm, tokens) if lim.tpm else b.tokens)
            for lim, b in zip(limits, states)]


def charged(lim: Limit, b: Buckets, now: float, tokens: int) -> Buckets:
    """The buckets after `tokens` learned after the fact: drained, but never below empty."""
    if not lim.tpm or tokens <= 0:
        return b
    return Buckets(b.requests, min(now + WINDOW, max(b.tokens, now) + tokens * WINDOW / lim.tpm))


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
        self._buckets: dict[str, Buckets] = {}

    def _gc(self, now: float) -> None:
        if len(self._buckets) > 100_000:
            self._buckets = {k: b for k, b in self._buckets.items() if max(b.requests, b.tokens) > now}

    async def acquire(self, limits: Sequence[Limit], tokens: int) -> Decision:
        now = self._clock()
        self._gc(now)
        states = [self._buckets.get(lim.scope, Buckets()) for lim in limits]
        decision = decide(limits, states, now, tokens)
        if decision.allowed:
            for lim, b in zip(limits, admitted(limits, states, now, tokens)):
                self._buckets[lim.scope] = b
        return decision

    async def add_tokens(self, limits: Sequence[Limit], tokens: int) -> None:
        now = self._clock()
        for lim in limits:
            self._buckets[lim.scope] = charged(lim, self._buckets.get(lim.scope, Buckets()), now, tokens)

    async def close(self) -> None:
        return None
