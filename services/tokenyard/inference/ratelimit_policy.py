"""Rate-limit policy: rpm/tpm per API key and per app, checked before the upstream call, with OpenAI's headers."""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from tokenyard.clients.metering import Decision, Limit, RateLimiter
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.inference.context import CallContext
from tokenyard.inference.estimate import prompt_estimate
from tokenyard.principal import Principal



def app_limits(app_config: Any) -> tuple[int, int]:
    """(rpm, tpm) of an app config: a dict with `rateLimits: {rpm, tpm}` (or flat rpm/tpm), or an object
    with `rpm`/`tpm` or `rate_limits` attributes. Missing = 0 (unlimited)."""
    if app_config is None:
        return 0, 0
    if isinstance(app_config, Mapping):
        rl = app_config.get("rateLimits") or app_config.get("rate_limits") or app_config
        return int(rl.get("rpm") or 0), int(rl.get("tpm") or 0)
    rl = getattr(app_config, "rate_limits", None) or getattr(app_config, "rateLimits", None) or app_config
    if isinstance(rl, Mapping):
        return int(rl.get("rpm") or 0), int(rl.get("tpm") or 0)
    return int(getattr(rl, "rpm", 0) or 0), int(getattr(rl, "tpm", 0) or 0)


def scoped_limits(principal: Principal, app_id: str, app_config: Any) -> list[Limit]:
    """The key's and the app's own limits (the scopes every call of theirs counts in, passthrough included)."""
    out = []
    if (principal.rpm or principal.tpm) and principal.key_id:
        out.append(Limit(f"key:{principal.key_id}", principal.rpm, principal.tpm))
    rpm, tpm = app_limits(app_config)
    if (rpm or tpm) and app_id:
        out.append(Limit(f"app:{app_id}", rpm, tpm))
    return out


def limits_for(ctx: CallContext, default: Limit | None = None) -> list[Limit]:
    """The limits that apply to a call: its key's and its app's, and for a dimension (requests, tokens) neither
    limits, the gateway default (`default`, counted per key, or per account for JWT users)."""
    p = ctx.principal
    out = scoped_limits(p, ctx.app_id or p.app_id, ctx.app_config)
    if default is not None:
        rpm = 0 if any(lim.rpm for lim in out) else default.rpm
        tpm = 0 if any(lim.tpm for lim in out) else default.tpm
        if rpm or tpm:
            out.append(Limit(f"default:key:{p.key_id}" if p.key_id else f"default:account:{p.account_id}", rpm, tpm))
    return out


def refusal(decision: Decision) -> GatewayError:
    """The 429 for a refused call: Retry-After, the x-ratelimit-* headers, and chat-app details."""
    return GatewayError(
        ErrorKind.RATE_LIMITED, f"Rate limit reached; retry in {decision.retry_after:.1f}s.",
        retry_after=decision.retry_after,
        metadata={**decision.headers(),
                  "remaining": str(min([decision.remaining_requests] * bool(decision.limit_requests)
                                       + [decision.remaining_tokens] * bool(decision.limit_tokens) or [0])),
                  "reset": str(int((time.time() + max(decision.retry_after, 0.001)) * 1000))})


class RateLimitPolicy:
    """`admit` counts the request and its prompt tokens (refusing with 429 when over); `finish` adds the
    tokens the call actually used beyond that estimate."""

    def __init__(self, limiter: RateLimiter, default_rpm: int = 0, default_tpm: int = 0) -> None:
        self._limiter = limiter
        self._default = Limit("default", default_rpm, default_tpm) if default_rpm or default_tpm else None

    async def prepare(self, ctx: CallContext) -> None:
        return None

    async def admit(self, ctx: CallContext) -> None:
        limits = limits_for(ctx, self._default)
        if not limits:
            return
        tokens = (await prompt_estimate(ctx)).text  # media estimates are upper bounds, not counted here
        decision = await self._limiter.acquire(limits, tokens)
        ctx.response_metadata.update(decision.headers())
        if not decision.allowed:
            raise refusal(decision)
        ctx.rate_limits = (limits, tokens)

    async def finish(self, ctx: CallContext) -> None:
        state = ctx.rate_limits
        if state is None:
            return
        limits, counted = state
        extra = ctx.prompt_tokens + ctx.completion_tokens - counted
        if extra > 0:
            await self._limiter.add_tokens(limits, extra)
