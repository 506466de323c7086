"""The in-process credential cache: hits, expiry, negative caching and invalidation."""
from __future__ import annotations

import pytest

from tokenyard.auth.keygen import hash_secret
from tokenyard.clients.auth_cache import CachedAuthenticator
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.principal import Principal, PrincipalKind


class Backend:
    def __init__(self) -> None:
        self.calls = 0
        self.valid = {"good"}

    async def __call__(self, credential: str) -> Principal:
        self.calls += 1
        if credential not in self.valid:
            raise GatewayError(ErrorKind.UNAUTHENTICATED, "bad")
        return Principal(account_id="a", kind=PrincipalKind.PERSONAL_KEY, key_id="k1")


async def test_hits_are_served_from_memory_until_ttl() -> None:
    now = [0.0]
    backend = Backend()
    cache = CachedAuthenticator(backend, ttl=10, clock=lambda: now[0])
    for _ in range(5):
        assert (await cache.authenticate("good")).account_id == "a"
    assert backend.calls == 1
    now[0] = 11
    await cache.authenticate("good")
    assert backend.calls == 2


async def test_invalidation_takes_effect_at_once() -> None:
    backend = Backend()
    cache = CachedAuthenticator(backend, ttl=60)
    await cache.authenticate("good")
    backend.valid.clear()
    cache.invalidate(hash_secret("good"))
    with pytest.raises(GatewayError) as info:
        await cache.authenticate("good")
    assert info.value.kind is ErrorKind.UNAUTHENTICATED


async def test_rejections_are_cached_briefly() -> None:
    now = [0.0]
    backend = Backend()
    cache = CachedAuthenticator(backend, ttl=60, negative_ttl=1, clock=lambda: now[0])
    for _ in range(3):
        with pytest.raises(GatewayError):
            await cache.authenticate("bad")
    assert backend.calls == 1
    now[0] = 2
    backend.valid.add("bad")
    assert (await cache.authenticate("bad")).key_id == "k1"


async def test_missing_credential_is_unauthenticated() -> None:
    with pytest.raises(GatewayError) as info:
        await CachedAuthenticator(Backend()).authenticate("")
    assert info.value.kind is ErrorKind.UNAUTHENTICATED
