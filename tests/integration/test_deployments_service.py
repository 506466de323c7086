"""DeploymentService and HealthChecker on real databases (SQLite and PostgreSQL): racing checkers, pending timeout,
the one-time secret under concurrent reads, revocation of every bound key."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from tokenyard.auth.service import AuthService
from tokenyard.auth.tables import ApiKey
from tokenyard.clients.auth_keys import LocalKeyIssuer
from tokenyard.deployments.health import HealthChecker
from tokenyard.deployments.service import DeploymentService
from tokenyard.deployments.tables import DeploymentRow
from tokenyard.egress import EgressGuard
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.principal import Principal, PrincipalKind
from tokenyard.storage.db import create_engine, migrate, sessionmaker

from tests.fakes import FakeOpenAI

OWNER = Principal(account_id="alice", kind=PrincipalKind.USER, scopes=frozenset({"ai:gateway", "keys:write"}))
STRANGER = Principal(account_id="bob", kind=PrincipalKind.USER, scopes=frozenset({"ai:gateway", "keys:write"}))
ADMIN = Principal(account_id="admin", kind=PrincipalKind.PERSONAL_KEY, scopes=frozenset({"admin"}))


@pytest.fixture
async def parts(database_url: str) -> AsyncIterator[tuple[AuthService, DeploymentService, httpx.AsyncClient]]:
    await migrate(database_url)
    engine = create_engine(database_url)
    sessions = sessionmaker(engine)
    auth = AuthService(sessions)
    svc = DeploymentService(sessions, LocalKeyIssuer(auth), EgressGuard(["127.0.0.1"]))
    async with httpx.AsyncClient() as http:
        yield auth, svc, http
    await engine.dispose()


async def _keys_of(auth: AuthService, dep_id: str) -> list[ApiKey]:
    async with auth._sessions() as s:
        return list((await s.execute(select(ApiKey).where(ApiKey.deployment_id == dep_id))).scalars())


async def test_racing_checkers_mint_one_key_and_the_secret_is_read_once(parts) -> None:
    auth, svc, http = parts
    with FakeOpenAI() as fake:
        dep = await svc.create(OWNER, model="m", upstream_kind="openai", base_url=fake.base_url, hours=1)
        checkers = [HealthChecker(svc, http) for _ in range(4)]
        await asyncio.gather(*(c.tick() for c in checkers))
        assert len(fake.requests_for("/v1/models")) == 1, "one process probed it"
    ready, secret = await svc.get(ADMIN, dep.id)
    assert ready.state == "ready" and not secret, "an admin read does not consume the owner's secret"
    reads = await asyncio.gather(*(svc.get(OWNER, dep.id) for _ in range(6)))
    secrets = [s for _, s in reads if s]
    assert len(secrets) == 1 and (await auth.authenticate(secrets[0])).deployment_id == dep.id
    assert len(await _keys_of(auth, dep.id)) == 1
    with pytest.raises(GatewayError) as exc:
        await svc.get(STRANGER, dep.id)
    assert exc.value.kind is ErrorKind.NOT_FOUND
    _, more, _ = await svc.create_key(OWNER, dep.id, "second")
    await svc.stop(OWNER, dep.id)
    for secret in (secrets[0], more):
        with pytest.raises(GatewayError) as exc:
            await auth.authenticate(secret)
        assert exc.value.kind is ErrorKind.UNAUTHENTICATED
    assert all(k.revoked_at is not None for k in await _keys_of(auth, dep.id))
    assert (await svc.get(OWNER, dep.id))[0].state == "stopped"


async def test_pending_deployment_fails_after_its_timeout(parts) -> None:
    _, svc, http = parts
    with FakeOpenAI() as fake:
        fake.set_healthy(False)
        dep = await svc.create(OWNER, model="m", upstream_kind="openai", base_url=fake.base_url, hours=1)
        checker = HealthChecker(svc, http, pending_timeout=60)
        await checker.tick()
        again, _ = await svc.get(OWNER, dep.id)
        assert again.state == "pending" and "503" in again.last_error
        late = HealthChecker(svc, http, pending_timeout=0)
        async with svc.store._sessions() as s, s.begin():
            row = await s.get(DeploymentRow, dep.id)
            row.next_check_at = row.created_at
        await late.tick()
    failed, secret = await svc.get(OWNER, dep.id)
    assert failed.state == "failed" and "no healthy answer" in failed.last_error and not secret
    with pytest.raises(GatewayError) as exc:
        await svc.extend(OWNER, dep.id, 1)
    assert exc.value.kind is ErrorKind.CONFLICT


async def test_unreachable_upstream_and_ssrf_at_create(parts) -> None:
    _, svc, http = parts
    for url in ("http://10.0.0.1/v1", "http://192.168.0.10:8000/v1"):
        with pytest.raises(GatewayError) as exc:
            await svc.create(OWNER, model="m", upstream_kind="openai", base_url=url, hours=1)
        assert exc.value.param == "upstream.base_url"
    dep = await svc.create(OWNER, model="m", upstream_kind="openai", base_url="http://127.0.0.1:9/v1", hours=1)
    await HealthChecker(svc, http).tick()
    pending, _ = await svc.get(OWNER, dep.id)
    assert pending.state == "pending" and "connecting" in pending.last_error
    with pytest.raises(GatewayError) as exc:
        await svc.create_key(OWNER, dep.id)
    assert exc.value.kind is ErrorKind.DEPLOYMENT_NOT_READY
    assert sum(1 for d in await svc.list(OWNER) if d.id == dep.id) == 1 and not await svc.list(STRANGER)
