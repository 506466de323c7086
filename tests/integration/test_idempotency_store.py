"""The Idempotency-Key store on real databases (SQLite and PostgreSQL): claim, replay, conflicts, accounts, TTL."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from tokenyard.common.idempotency import check_key
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.inference.idempotency import IdempotencyStore, fingerprint
from tokenyard.storage.db import create_engine, migrate, sessionmaker

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
async def sessions(database_url: str):  # type: ignore[no-untyped-def]
    await migrate(database_url)
    engine = create_engine(database_url)
    yield sessionmaker(engine)
    await engine.dispose()


async def test_first_claim_runs_and_a_retry_replays_the_stored_answer(sessions) -> None:  # type: ignore
    store = IdempotencyStore(sessions)
    claim = await store.claim("alice", "k1", fingerprint("a"))
    assert claim.replay is None
    with pytest.raises(GatewayError) as busy:
        await store.claim("alice", "k1", fingerprint("a"))
    assert busy.value.kind is ErrorKind.IDEMPOTENCY_KEY_IN_USE, "in flight: 409"
    await store.complete(claim, b"answer", {"x-tokenyard-target": "local"})
    again = await store.claim("alice", "k1", fingerprint("a"))
    assert (again.replay, again.headers) == (b"answer", {"x-tokenyard-target": "local"})
    with pytest.raises(GatewayError) as reused:
        await store.claim("alice", "k1", fingerprint("b"))
    assert reused.value.kind is ErrorKind.IDEMPOTENCY_KEY_REUSED and reused.value.param == "Idempotency-Key"


async def test_accounts_never_share_keys(sessions) -> None:  # type: ignore
    store = IdempotencyStore(sessions)
    await store.complete(await store.claim("alice", "shared", fingerprint("a")), b"alice's", {})
    bob = await store.claim("bob", "shared", fingerprint("b"))
    assert bob.replay is None, "another account's use of the key does not count"
    await store.complete(bob, b"bob's", {})
    assert (await store.claim("alice", "shared", fingerprint("a"))).replay == b"alice's"
    assert (await store.claim("bob", "shared", fingerprint("b"))).replay == b"bob's"


async def test_release_expiry_stale_claims_and_the_size_cap(sessions) -> None:  # type: ignore
    clock = Clock()
    store = IdempotencyStore(sessions, max_bytes=10, clock=clock)
    failed = await store.claim("alice", "released", fingerprint("a"))
    await store.release(failed)
    assert (await store.claim("alice", "released", fingerprint("a"))).replay is None, "a failed run frees its key"
    await store.complete(await store.claim("alice", "old", fingerprint("a")), b"first", {})
    clock.now += dt.timedelta(hours=24, seconds=1)
    assert (await store.claim("alice", "old", fingerprint("other"))).replay is None, "expired after 24 h"
    await store.claim("alice", "stuck", fingerprint("a"))  # its process died: never completed nor released
    clock.now += dt.timedelta(minutes=11)
    assert (await store.claim("alice", "stuck", fingerprint("a"))).replay is None, "a stale claim is taken over"
    await store.complete(await store.claim("alice", "big", fingerprint("a")), b"x" * 11, {})
    with pytest.raises(GatewayError) as big:
        await store.claim("alice", "big", fingerprint("a"))
    assert big.value.kind is ErrorKind.IDEMPOTENCY_KEY_IN_USE, "never run twice, even when not replayable"


async def test_concurrent_first_claims_run_once(sessions) -> None:  # type: ignore
    store = IdempotencyStore(sessions)
    results = await asyncio.gather(*(store.claim("alice", "race", fingerprint("a")) for _ in range(8)),
                                   return_exceptions=True)
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, GatewayError) and r.kind is ErrorKind.IDEMPOTENCY_KEY_IN_USE
               for r in results if r not in winners)


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\tkey", "clé"])
def test_keys_are_bounded(key: str) -> None:
    with pytest.raises(GatewayError) as err:
        check_key(key)
    assert err.value.kind is ErrorKind.INVALID_REQUEST
    assert check_key("k" * 255) == "k" * 255
