"""Migrations, API keys and usage records on real databases (SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from tokenyard.auth.keygen import hash_secret
from tokenyard.auth.service import AuthService
from tokenyard.common.usage import UsageEvent
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.metering.service import MeteringService
from tokenyard.storage.db import create_engine, migrate, sessionmaker


@pytest.fixture
async def sessions(database_url: str):  # type: ignore[no-untyped-def]
    await migrate(database_url)
    await migrate(database_url)  # idempotent
    engine = create_engine(database_url)
    yield sessionmaker(engine)
    await engine.dispose()


async def test_keys_are_stored_as_hashes_and_resolve_until_revoked(sessions) -> None:  # type: ignore[no-untyped-def]
    auth = AuthService(sessions)
    generated = await auth.bootstrap_admin("")
    assert generated and generated.startswith("ty_sk_")
    assert await auth.bootstrap_admin("") is None
    admin = await auth.authenticate(generated)
    assert admin.is_admin and admin.account_id == "admin"
    row, secret = await auth.create_key(admin, name="ci", scopes=["ai:gateway"], account_id="alice")
    p = await auth.authenticate(secret)
    assert (p.account_id, p.key_id, p.scopes) == ("alice", row.id, frozenset({"ai:gateway"}))
    async with sessions() as s:
        stored = (await s.execute(text("SELECT key_hash, prefix FROM api_keys WHERE id = :i"), {"i": row.id})).one()
        dump = " ".join(str(v) for r in (await s.execute(text("SELECT * FROM api_keys"))).all() for v in r)
    assert stored.key_hash == hash_secret(secret)
    assert secret not in dump and generated not in dump
    await auth.revoke_key(admin, row.id)
    with pytest.raises(GatewayError) as info:
        await auth.authenticate(secret)
    assert info.value.kind is ErrorKind.UNAUTHENTICATED


async def test_expired_key_is_rejected(sessions) -> None:  # type: ignore[no-untyped-def]
    now = [dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)]
    auth = AuthService(sessions, clock=lambda: now[0])
    await auth.bootstrap_admin("ty_sk_admin-for-test")
    admin = await auth.authenticate("ty_sk_admin-for-test")
    _, secret = await auth.create_key(admin, name="short", scopes=["ai:gateway"],
                                      expires_at=now[0] + dt.timedelta(hours=1))
    assert (await auth.authenticate(secret)).account_id == "admin"
    now[0] += dt.timedelta(hours=2)
    with pytest.raises(GatewayError, match="expired"):
        await auth.authenticate(secret)


async def test_admin_key_from_settings_replaces_the_stored_one(sessions) -> None:  # type: ignore[no-untyped-def]
    auth = AuthService(sessions)
    await auth.bootstrap_admin("first-admin-key")
    await auth.bootstrap_admin("second-admin-key")
    assert (await auth.authenticate("second-admin-key")).is_admin
    with pytest.raises(GatewayError):
        await auth.authenticate("first-admin-key")


async def test_usage_records_are_stored_once_per_request_id(sessions) -> None:  # type: ignore[no-untyped-def]
    metering = MeteringService(sessions)
    now = dt.datetime.now(dt.timezone.utc)
    events = [UsageEvent(request_id=f"r{i}", time=now, account_id="alice", model="local/echo",
                         prompt_tokens=3, completion_tokens=4, cost_micros=7) for i in range(5)]
    assert await metering.record(events) == 5
    assert await metering.record(events[:3] + [events[0]]) == 0
    rows = await metering.records_for("alice")
    assert sorted(r.request_id for r in rows) == [f"r{i}" for i in range(5)]
    assert all(r.time.tzinfo is not None for r in rows)
