"""In-process credential cache for the hot path: answers from memory, asks the Auth service on a miss."""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from tokenyard.auth.keygen import hash_secret
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.principal import Principal, bound_key_refused


class Authenticator(Protocol):
    """What every service asks to know its caller. Keys bound to a deployment are refused (403) unless
    `inference` is set, which only the Router's model-call entry does; so a new route is closed to them by
    default."""

    async def authenticate(self, credential: str, *, inference: bool = False) -> Principal: ...


class CachedAuthenticator:
    """Caches principals (and briefly, rejections) by the credential's hash.

    Entries live `ttl` seconds, never past the credential's own expiry; `invalidate` drops one at once (fed
    by the revocation feed), so a revoked key stops working everywhere within the feed latency, not the TTL.
    An answer that was in flight while an invalidation happened is returned but not cached.
    `on_use(key_id)` is called for every successful key use (batched `last_used_at` tracking).
    This is the gate every service of the process goes through: a deployment-bound key gets PERMISSION_DENIED
    unless the caller passes `inference=True` (the Router, whose deployment policy confines the key).
    """

    def __init__(self, backend: Callable[[str], Awaitable[Principal]], ttl: float = 30.0,
                 negative_ttl: float = 1.0, max_entries: int = 100_000,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
                 on_use: Callable[[str], None] | None = None) -> None:
        self._backend = backend
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._max = max_entries
        self._clock = clock
        self._wall = wall
        self._entries: dict[str, tuple[float, Principal | GatewayError]] = {}
        self._generation = 0
        self.on_use = on_use

    async def authenticate(self, credential: str, *, inference: bool = False) -> Principal:
        """The credential's principal, from cache when fresh; 403 for a deployment-bound key unless
        `inference`."""
        principal = await self._principal(credential)
        if principal.bound and not inference:
            raise GatewayError(ErrorKind.PERMISSION_DENIED, bound_key_refused(principal))
        return self._used(principal)

    async def _principal(self, credential: str) -> Principal:
        if not credential:
            raise GatewayError(ErrorKind.UNAUTHENTICATED, "Missing API key: send `Authorization: Bearer <key>`")
        digest = hash_secret(credential)
        now = self._clock()
        hit = self._entries.get(digest)
        if hit is not None and hit[0] > now:
            if isinstance(hit[1], GatewayError):
                raise hit[1]
            return hit[1]
        generation = self._generation
        try:
            principal = await self._backend(credential)
        except GatewayError as err:
            if err.kind is ErrorKind.UNAUTHENTICATED and generation == self._generation:
                self._store(digest, now + self._negative_ttl, err)
            raise
        expires = now + self._ttl
        if principal.expires_at:
            expires = min(expires, now + principal.expires_at - self._wall())
        if generation == self._generation:
            self._store(digest, expires, principal)
        return principal

    def _used(self, principal: Principal) -> Principal:
        if self.on_use is not None and principal.key_id:
            self.on_use(principal.key_id)
        return principal

    def _store(self, digest: str, expires: float, value: Principal | GatewayError) -> None:
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[digest] = (expires, value)

    def invalidate(self, key_hash: str) -> None:
        """Forget one credential (by SHA-256 hex of its secret)."""
        self._generation += 1
        self._entries.pop(key_hash, None)

    def clear(self) -> None:
        """Forget everything."""
        self._generation += 1
        self._entries.clear()
