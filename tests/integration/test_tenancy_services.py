"""Auth and Config services over real databases (SQLite and PostgreSQL) and a real gRPC server."""
from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from sqlalchemy import text
from tokenyard.auth.keygen import hash_secret
from tokenyard.auth.platform_jwt import JwtVerifier
from tokenyard.auth.revocations import RevocationFeed, revocations_after
from tokenyard.auth.service import AuthService
from tokenyard.auth.servicer import AuthServicer, registrar
from tokenyard.auth.tables import Revocation
from tokenyard.auth.v1.auth_service_pb2 import WatchRevocationsRequest
from tokenyard.catalog import load_catalog
from tokenyard.changefeed import StreamFollower
from tokenyard.clients.auth import AuthClient
from tokenyard.clients.auth_cache import CachedAuthenticator
from tokenyard.config.changes import ChangeFeed
from tokenyard.config.model import AppConfig
from tokenyard.config.service import ConfigService
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.grpcutil import auth_metadata, channel, create_server, from_rpc_error
from tokenyard.principal import Principal, PrincipalKind
from tokenyard.tablefeed import latest_seq

from tests.conftest import HAVE_POSTGRES
from tests.integration.tenancy_db import fresh_database
from tests.jwt_helpers import JWT_SECRET, hs256

ADMIN_SECRET = "ty_sk_integration-admin-0123456789abcdefghij"
INTERNAL_SECRET = "integration-internal-secret-0123456789abcdef"
CATALOG = load_catalog()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, object]]:
    if request.param == "postgres" and not HAVE_POSTGRES:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    async for pair in fresh_database(request.param, tmp_path):
        yield pair


async def services(sessions: object) -> tuple[AuthService, ConfigService]:
    async def revoke_app_keys(app_id: str) -> int:  # Config asks Auth (clients.auth_keys.LocalKeyIssuer)
        return await auth.revoke_app_keys(app_id)

    config = ConfigService(sessions, CATALOG, revoke_app_keys=revoke_app_keys)  # type: ignore[arg-type]

    async def owner(app_id: str) -> str | None:
        snap = await config.snapshot(app_id)
        return snap.app.owner if snap else None

    auth = AuthService(sessions, jwt=JwtVerifier(JWT_SECRET), app_owner=owner)  # type: ignore[arg-type]
    await auth.bootstrap_admin(ADMIN_SECRET)
    return auth, config


async def kind_of(coro: object) -> ErrorKind:
    with pytest.raises(GatewayError) as info:
        await coro  # type: ignore[misc]
    return info.value.kind


async def _first(call: object) -> object:
    """The first message of a server stream; a failed call as GatewayError."""
    try:
        return await anext(aiter(call))  # type: ignore[call-overload]
    except grpc.RpcError as exc:
        raise from_rpc_error(exc) from None
    finally:
        call.cancel()  # type: ignore[attr-defined]


async def test_jwt_user_is_provisioned_and_stored_keys_hold_no_usable_secret(db: tuple[str, object]) -> None:
    _, sessions = db
    auth, _ = await services(sessions)
    alice = await auth.authenticate(hs256("alice"))
    assert alice.kind is PrincipalKind.USER and "admin" not in alice.scopes and alice.has("keys:write")
    secrets = [(await auth.create_key(alice, name=f"k{i}", scopes=["ai:gateway"]))[1] for i in range(3)]
    async with sessions() as s:  # type: ignore[operator]
        assert (await s.execute(text("SELECT count(*) FROM accounts WHERE id = 'alice'"))).scalar() == 1
        rows = (await s.execute(text("SELECT * FROM api_keys"))).all()
    cells = [str(c) for row in rows for c in row]
    for secret in secrets:
        body = secret.removeprefix("ty_sk_")
        assert not any(body[6:26] in c for c in cells), "part of a secret is stored"
        assert hash_secret(secret) in cells
        assert (await auth.authenticate(secret)).account_id == "alice"


async def test_keys_never_exceed_their_creator(db: tuple[str, object]) -> None:
    _, sessions = db
    auth, _ = await services(sessions)
    alice = await auth.authenticate(hs256("alice"))
    assert await kind_of(auth.create_key(alice, name="x", scopes=["admin"])) is ErrorKind.PERMISSION_DENIED
    _, secret = await auth.create_key(alice, name="mgr", scopes=["keys:write", "ai:gateway"])
    mgr = await auth.authenticate(secret)
    await auth.create_key(mgr, name="child", scopes=["ai:gateway"])
    assert await kind_of(auth.create_key(mgr, name="x", scopes=["apps:write"])) is ErrorKind.PERMISSION_DENIED
    _, plain = await auth.create_key(alice, name="plain", scopes=["ai:gateway"])
    plain_p = await auth.authenticate(plain)
    assert await kind_of(auth.create_key(plain_p, name="x", scopes=[])) is ErrorKind.PERMISSION_DENIED
    assert await kind_of(auth.list_keys(plain_p)) is ErrorKind.PERMISSION_DENIED
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert await kind_of(auth.create_key(alice, name="x", scopes=[], expires_at=past)) is ErrorKind.INVALID_REQUEST


async def test_app_keys_only_for_owned_apps_and_app_isolation(db: tuple[str, object]) -> None:
    _, sessions = db
    auth, config = await services(sessions)
    alice, bob = await auth.authenticate(hs256("alice")), await auth.authenticate(hs256("bob"))
    app = await config.create_app(alice, "alice app")
    assert await kind_of(auth.create_key(bob, name="x", scopes=[], app_id=app.id)) is ErrorKind.NOT_FOUND
    _, secret = await auth.create_key(alice, name="appkey", scopes=["ai:gateway"], app_id=app.id)
    app_key = await auth.authenticate(secret)
    assert app_key.kind is PrincipalKind.APP_KEY and app_key.app_id == app.id
    assert await kind_of(auth.create_key(app_key, name="x", scopes=[])) is ErrorKind.PERMISSION_DENIED
    for call in (config.get_app(bob, app.id), config.get_app_config(bob, app.id), config.delete_app(bob, app.id),
                 config.put_app_config(bob, app.id, AppConfig(max_tokens_per_request=5))):
        assert await kind_of(call) is ErrorKind.NOT_FOUND
    assert await config.list_apps(bob) == []
    admin = await auth.authenticate(ADMIN_SECRET)
    await config.create_app(bob, "bob app")
    assert len(await config.list_apps(admin)) == 2
    assert [a.id for a in await config.list_apps(alice)] == [app.id]


async def test_revocation_reaches_another_instance_within_a_second(db: tuple[str, object]) -> None:
    _, sessions = db
    auth_a, _ = await services(sessions)
    auth_b = AuthService(sessions)  # type: ignore[arg-type]
    cache_b = CachedAuthenticator(auth_b.authenticate)
    feed_b = RevocationFeed(sessions, lambda e: cache_b.invalidate(e.key_hash))  # type: ignore[arg-type]
    await feed_b.start()
    try:
        alice = await auth_a.authenticate(hs256("alice"))
        row, secret = await auth_a.create_key(alice, name="k", scopes=["ai:gateway"])
        await cache_b.authenticate(secret)
        await auth_a.revoke_key(alice, row.id)
        start = time.monotonic()
        while True:
            try:
                await cache_b.authenticate(secret)
            except GatewayError as err:
                assert err.kind is ErrorKind.UNAUTHENTICATED
                break
            assert time.monotonic() - start < 1.0, "revoked key still accepted after 1 s"
            await asyncio.sleep(0.02)
    finally:
        await feed_b.stop()


async def test_deleting_an_app_revokes_its_keys_through_the_revocation_feed(db: tuple[str, object]) -> None:
    _, sessions = db
    auth, config = await services(sessions)
    alice = await auth.authenticate(hs256("alice"))
    app, other = await config.create_app(alice, "doomed"), await config.create_app(alice, "kept")
    doomed = [await auth.create_key(alice, name=f"d{i}", scopes=["ai:gateway"], app_id=app.id) for i in range(3)]
    kept, kept_secret = await auth.create_key(alice, name="k", scopes=["ai:gateway"], app_id=other.id)
    await auth.revoke_key(alice, doomed[2][0].id)  # already revoked: not revoked twice
    after = await latest_seq(sessions, Revocation)  # type: ignore[arg-type]
    await config.delete_app(alice, app.id)
    events = await revocations_after(sessions, after)  # type: ignore[arg-type]
    assert sorted(e.key_id for e in events) == sorted(row.id for row, _ in doomed[:2])
    assert {e.key_hash for e in events} == {hash_secret(secret) for _, secret in doomed[:2]}
    for _, secret in doomed:
        assert await kind_of(auth.authenticate(secret)) is ErrorKind.UNAUTHENTICATED
    assert (await auth.authenticate(kept_secret)).key_id == kept.id
    listed = await auth.list_keys(alice, app_id=app.id, include_revoked=True)
    assert len(listed) == 3 and all(k.revoked_at is not None for k in listed)
    assert [k.id for k in await auth.list_keys(alice)] == [kept.id]


async def test_key_and_app_lists_page_newest_first_with_ties_broken_by_id(db: tuple[str, object]) -> None:
    _, sessions = db
    same = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    config = ConfigService(sessions, CATALOG, clock=lambda: same)  # type: ignore[arg-type]
    auth = AuthService(sessions, clock=lambda: same, jwt=JwtVerifier(JWT_SECRET))  # type: ignore[arg-type]
    alice = await auth.authenticate(hs256("alice"))
    keys = sorted([(await auth.create_key(alice, name=f"k{i}", scopes=[]))[0].id for i in range(5)], reverse=True)
    apps = sorted([(await config.create_app(alice, f"a{i}")).id for i in range(5)], reverse=True)
    assert [k.id for k in await auth.list_keys(alice, limit=2)] == keys[:2]
    assert [k.id for k in await auth.list_keys(alice, after=keys[1], limit=2)] == keys[2:4]
    assert [k.id for k in await auth.list_keys(alice, after=keys[3])] == keys[4:]
    assert [a.id for a in await config.list_apps(alice, after=apps[0], limit=3)] == apps[1:4]
    assert [a.id for a in await config.list_apps(alice, after=apps[4])] == []
    bob = await auth.authenticate(hs256("bob"))
    for call in (auth.list_keys(bob, after=keys[0]), config.list_apps(bob, after=apps[0]),
                 auth.list_keys(alice, after="key_\x00"), config.list_apps(alice, after="x" * 65)):
        assert await kind_of(call) is ErrorKind.INVALID_REQUEST


async def test_last_used_is_recorded_in_batches(db: tuple[str, object]) -> None:
    _, sessions = db
    auth, _ = await services(sessions)
    alice = await auth.authenticate(hs256("alice"))
    row, _ = await auth.create_key(alice, name="k", scopes=["ai:gateway"])
    used = dt.datetime.now(dt.UTC)
    assert await auth.record_key_use({row.id: used, "key_unknown": used}) == 1
    assert await auth.record_key_use({row.id: used - dt.timedelta(minutes=1)}) == 0
    (listed,) = await auth.list_keys(alice)
    assert abs((listed.last_used_at - used).total_seconds()) < 0.01


async def test_config_change_feed_reports_app_and_config_changes(db: tuple[str, object]) -> None:
    _, sessions = db
    auth, config = await services(sessions)
    alice = await auth.authenticate(hs256("alice"))
    seen: list[tuple[str, str]] = []
    feed = ChangeFeed(sessions, lambda e: seen.append((e.kind, e.id)))  # type: ignore[arg-type]
    await feed.start()
    try:
        app = await config.create_app(alice, "a")
        await config.put_app_config(alice, app.id, AppConfig(default_model="local/echo"))
        await config.delete_app(alice, app.id)
        deadline = time.monotonic() + 2
        while len(seen) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert seen == [("app", app.id), ("app_config", app.id), ("app", app.id)]
        assert await config.snapshot(app.id) is None
    finally:
        await feed.stop()


async def test_watch_revocations_over_grpc_feeds_a_remote_cache(tmp_path: Path) -> None:
    async for _, sessions in fresh_database("sqlite", tmp_path):
        auth, _ = await services(sessions)
        local_cache = CachedAuthenticator(auth.authenticate)
        feed = RevocationFeed(sessions, lambda e: local_cache.invalidate(e.key_hash))  # type: ignore[arg-type]
        await feed.start()
        server, port = await create_server([registrar(AuthServicer(auth, local_cache, feed=feed,
                                                                  internal_secret=INTERNAL_SECRET))], "127.0.0.1:0")
        ch = channel(f"127.0.0.1:{port}")
        remote = CachedAuthenticator(AuthClient(ch).authenticate)
        follower = StreamFollower(AuthClient(ch, INTERNAL_SECRET).watch_revocations,
                                  lambda e: remote.invalidate(e.key_hash), remote.clear)
        try:
            follower.start()
            await asyncio.wait_for(follower.connected.wait(), 5)
            alice = await auth.authenticate(hs256("alice"))
            row, secret = await auth.create_key(alice, name="k", scopes=["ai:gateway"])
            assert (await remote.authenticate(secret)).key_id == row.id
            await auth.revoke_key(alice, row.id)
            await asyncio.sleep(0.8)
            assert await kind_of(remote.authenticate(secret)) is ErrorKind.UNAUTHENTICATED
            _, user_secret = await auth.create_key(alice, name="u", scopes=["ai:gateway"])
            wrong = AuthClient(ch, user_secret).watch_revocations(0)  # a user key is no internal secret
            assert await kind_of(anext(wrong)) is ErrorKind.UNAUTHENTICATED
            stub = AuthClient(ch).stub
            call = stub.WatchRevocations(WatchRevocationsRequest(), metadata=auth_metadata(user_secret))
            assert await kind_of(_first(call)) is ErrorKind.PERMISSION_DENIED
        finally:
            await follower.stop()
            await feed.stop()
            await ch.close()
            await server.stop(0)


def test_principal_expiry_survives_the_wire() -> None:
    from tokenyard.auth.convert import principal_from_pb, principal_to_pb

    p = Principal("a", PrincipalKind.USER, frozenset({"ai:gateway"}), expires_at=1_900_000_000.0)
    assert principal_from_pb(principal_to_pb(p)) == p
