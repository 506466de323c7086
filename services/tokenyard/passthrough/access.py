"""Who may use a passthrough gateway: a tokenyard key of its account (the default), or anyone when the app opted
in to unauthenticated passthrough, then under a rate limit. Nothing is forwarded or metered before this."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tokenyard.clients.config_cache import AppSnapshot
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.inference.ratelimit_policy import scoped_limits
from tokenyard.clients.metering import Limit, RateLimiter
from tokenyard.principal import Principal

ADMISSION_TOKENS = 1
"""Tokens a passthrough call is counted for at admission (its body is not parsed): enough that a spent token
budget refuses it; the metered rest is added once the answer is read."""
GATEWAY_HEADER = "tokenyard-authorization"
"""The HTTP header carrying the tokenyard key on passthrough routes (the provider key keeps its own header)."""


def _needs_key() -> GatewayError:
    return GatewayError(ErrorKind.UNAUTHENTICATED, f"This gateway needs a tokenyard API key of its account in the "
                        f"`{GATEWAY_HEADER}: Bearer <key>` header (your provider key stays in its own header)")


@dataclass
class Access:
    """The Router's parts the access rules need."""

    gateway: Callable[[str, str], Awaitable[AppSnapshot]]
    authenticate: Callable[[str], Awaitable[Principal]]
    limiter: RateLimiter | None
    unauthenticated_rpm: int = 60

    async def authorize(self, token: str, account_id: str, gateway_id: str
                        ) -> tuple[AppSnapshot, Principal | None, list[Limit]]:
        """The gateway, the caller's principal (None for an unauthenticated call the app allows) and the rate
        limits the call was counted against (its tokens are added once metered).

        401 without a key unless the app opted in (an unknown gateway is also a 401 then, so a stranger learns
        nothing about which gateways exist); 404 for a key's unknown gateway; 403 for a key of another account,
        a deployment key or one without ai:gateway; 429 over the key's or the app's rate limits (a keyed call),
        or over the unauthenticated rate limit."""
        if token:
            snap = await self.gateway(account_id, gateway_id)
            principal = await self._key_of(snap, token)
            return snap, principal, await self._limit_keyed(snap, principal)
        try:
            snap = await self.gateway(account_id, gateway_id)
        except GatewayError as err:
            if err.kind is ErrorKind.NOT_FOUND:
                raise _needs_key() from None
            raise
        if not snap.config.allow_unauthenticated_passthrough or snap.config.require_gateway_key:
            raise _needs_key()
        return snap, None, await self._limit(snap)

    async def _key_of(self, snap: AppSnapshot, token: str) -> Principal:
        """The app's own key, or a key of its owner (the operator's admin key too), with the ai:gateway scope."""
        p = await self.authenticate(token)
        mine = p.app_id == snap.app.id if p.app_id else (p.is_admin or p.account_id == snap.app.owner)
        if not mine or p.deployment_id or not p.has("ai:gateway"):
            raise GatewayError(ErrorKind.PERMISSION_DENIED, "This tokenyard key may not use this gateway")
        return p

    async def _limit(self, snap: AppSnapshot) -> list[Limit]:
        """The app's rateLimits (shared with its Router calls), else `unauthenticated_rpm` in a scope of its own."""
        cfg = snap.config
        if cfg.rpm or cfg.tpm:
            limit = Limit(f"app:{snap.app.id}", cfg.rpm, cfg.tpm)
        else:
            limit = Limit(f"passthrough:{snap.app.id}", self.unauthenticated_rpm, 0)
        if self.limiter is None:
            raise GatewayError(ErrorKind.UNAVAILABLE, "Unauthenticated passthrough needs the rate limiter")
        return await self._acquire([limit])

    async def _limit_keyed(self, snap: AppSnapshot, principal: Principal) -> list[Limit]:
        """A keyed call counts against its key's rpm/tpm and its app's rateLimits, the same scopes its Router
        calls use (so passthrough is no way around them)."""
        limits = scoped_limits(principal, snap.app.id, snap.config)
        if not limits or self.limiter is None:
            return []
        return await self._acquire(limits)

    async def _acquire(self, limits: list[Limit]) -> list[Limit]:
        assert self.limiter is not None
        d = await self.limiter.acquire(limits, ADMISSION_TOKENS)
        if d.allowed:
            return limits
        raise GatewayError(ErrorKind.RATE_LIMITED, f"Rate limit reached; retry in {d.retry_after:.1f}s.",
                           retry_after=d.retry_after, metadata=d.headers())
