"""CachedAuthenticator: TTL capped by credential expiry, races with invalidation, key-use hook."""
from __future__ import annotations

import asyncio

from tokenyard.auth.keygen import hash_secret
from tokenyard.clients.auth_cache import CachedAuthenticator
from tokenyard.principal import Principal, PrincipalKind


class Backend:
    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.calls = 0
        self.gate: asyncio.Event | None = None

    async def __call__(self, credential: str) -> Principal:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        return self.principal


async def test_entry_never_outlives_the_credential_expiry() -> None:
    mono, wall = [0.0], [1000.0]
    backend = Backend(Principal("a", PrincipalKind.USER, expires_at=1005.0))
    cache = CachedAuthenticator(backend, ttl=30, clock=lambda: mono[0], wall=lambda: wall[0])
    await cache.authenticate("tok")
    mono[0], wall[0] = 4.0, 1004.0
    await cache.authenticate("tok")
    assert backend.calls == 1
    mono[0], wall[0] = 6.0, 1006.0
    await cache.authenticate("tok")
    assert backend.calls == 2


async def test_answer_in_flight_during_invalidation_is_not_cached() -> None:
    backend = Backend(Principal("a", PrincipalKind.PERSONAL_KEY, key_id="key_1"))
    backend.gate = asyncio.Event()
    cache = CachedAuthenticator(backend)
    pending = asyncio.create_task(cache.authenticate("ty_sk_x"))
    await asyncio.sleep(0)
    cache.invalidate(hash_secret("ty_sk_x"))
    backend.gate.set()
    await pending
    await cache.authenticate("ty_sk_x")
    assert backend.calls == 2


async def test_every_key_use_is_reported_hits_included() -> None:
    used: list[str] = []
    cache = CachedAuthenticator(Backend(Principal("a", PrincipalKind.PERSONAL_KEY, key_id="key_1")),
                                on_use=used.append)
    for _ in range(3):
        await cache.authenticate("ty_sk_x")
    assert used == ["key_1"] * 3
