"""Deployment logic: register, read (the default key's secret once), extend, stop, mint more keys. No gRPC."""
from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Mapping, Sequence

from sqlalchemy.ext.asyncio import async_sessionmaker

from tokenyard.clients.auth_keys import KeyIssuer
from tokenyard.common.deployments import LIVE, PENDING, READY, STOPPED, Deployment
from tokenyard.common.deployments import not_ready
from tokenyard.common.ids import new_id
from tokenyard.deployments.model import check_hours, env_allowed, validate_spec
from tokenyard.deployments.store import DeploymentStore, to_value
from tokenyard.deployments.tables import DeploymentRow
from tokenyard.egress import EgressGuard
from tokenyard.errors import ErrorKind, GatewayError, invalid
from tokenyard.principal import Principal
from tokenyard.secretbox import SecretBox
from tokenyard.storage.types import utcnow

log = logging.getLogger(__name__)


def _not_found(deployment_id: str) -> GatewayError:
    return GatewayError(ErrorKind.NOT_FOUND, f"No deployment {deployment_id!r}", param="id")


def _check_manager(caller: Principal) -> None:
    if caller.app_id or caller.deployment_id:
        raise GatewayError(ErrorKind.PERMISSION_DENIED, "app and deployment keys cannot manage deployments")
    if not caller.has("keys:write"):
        raise GatewayError(ErrorKind.PERMISSION_DENIED, "managing deployments needs the keys:write scope")


class DeploymentService:
    """Deployments of the caller's account (admins: every account). State changes are DB-conditional, so several
    processes (and the background checker) may act at once.

    The upstream key is the owner's own (`api_key`, sealed at rest, never returned), or an operator env var
    the operator maps to the owner's account in `key_envs` (TOKENYARD_DEPLOY_KEY_ENVS), read from `env`."""

    def __init__(self, sessions: async_sessionmaker, keys: KeyIssuer, egress: EgressGuard,
                 clock: Callable[[], dt.datetime] = utcnow, box: SecretBox | None = None, *,
                 key_envs: Mapping[str, Sequence[str]] | None = None, env: Mapping[str, str] | None = None) -> None:
        self.store = DeploymentStore(sessions, box)
        self.keys = keys
        self.egress = egress
        self._clock = clock
        self._key_envs = key_envs or {}
        self._env = env if env is not None else os.environ

    async def _owned(self, caller: Principal, deployment_id: str) -> DeploymentRow:
        _check_manager(caller)
        row = await self.store.get(deployment_id) if deployment_id.startswith("dep_") else None
        if row is None or not (caller.is_admin or row.owner == caller.account_id):
            raise _not_found(deployment_id)
        return row

    async def create(self, caller: Principal, *, model: str, upstream_kind: str, base_url: str,
                     api_key_env: str = "", hours: float, api_key: str = "") -> Deployment:
        """Register a deployment (`pending`); the health checker takes it from there."""
        _check_manager(caller)
        spec = validate_spec(model, upstream_kind, base_url, api_key_env, hours, api_key)
        if spec.api_key_env and not env_allowed(self._key_envs, spec.api_key_env, caller.account_id):
            raise GatewayError(ErrorKind.PERMISSION_DENIED, f"upstream.api_key_env: {spec.api_key_env} is not "
                               "mapped to your account by the operator (TOKENYARD_DEPLOY_KEY_ENVS); send your "
                               "instance's own key in upstream.api_key instead", param="upstream.api_key_env")
        await self.egress.check(spec.base_url, "upstream.base_url")
        now = self._clock()
        row = DeploymentRow(id=new_id("dep"), owner=caller.account_id, model=spec.model,
                            upstream_kind=spec.upstream_kind, base_url=spec.base_url, api_key_env=spec.api_key_env,
                            state=PENDING, hours=spec.hours, created_at=now,
                            ends_at=now + dt.timedelta(hours=spec.hours), next_check_at=now, checks=0,
                            last_error="", default_key_id="", pending_secret=None, keys_revoked=False,
                            upstream_key=self.store.seal(spec.api_key) if spec.api_key else None)
        await self.store.add(row)
        log.info("deployment %s of %s registered (%s at %s)", row.id, row.owner, row.model, row.base_url)
        return to_value(row)

    async def get(self, caller: Principal, deployment_id: str) -> tuple[Deployment, str]:
        """The deployment, plus the default key's secret on the owner's first read after it became ready."""
        row = await self._owned(caller, deployment_id)
        secret = ""
        if row.pending_secret and row.owner == caller.account_id:
            secret = await self.store.take_secret(row.id)
        return to_value(row), secret

    async def list(self, caller: Principal) -> list[Deployment]:
        """The caller's deployments (admins: all), newest first."""
        _check_manager(caller)
        rows = await self.store.list_for(None if caller.is_admin else caller.account_id)
        return [to_value(r) for r in rows]

    async def extend(self, caller: Principal, deployment_id: str, hours: float) -> Deployment:
        """Add hours to a live deployment (same id, same keys)."""
        row = await self._owned(caller, deployment_id)
        hours = check_hours(hours)
        base = max(row.ends_at, self._clock())
        if row.state not in LIVE or not await self.store.extend(row.id, base + dt.timedelta(hours=hours),
                                                                row.hours + hours):
            raise GatewayError(ErrorKind.CONFLICT, f"Deployment {row.id!r} is {row.state}; it cannot be extended")
        return to_value(await self.store.get(row.id))  # type: ignore[arg-type]

    async def stop(self, caller: Principal, deployment_id: str) -> Deployment:
        """Stop a deployment and revoke all its keys for good (stopping a finished one changes nothing)."""
        row = await self._owned(caller, deployment_id)
        await self.finish(row.id, STOPPED)
        return to_value(await self.store.get(row.id))  # type: ignore[arg-type]

    async def create_key(self, caller: Principal, deployment_id: str, name: str = "") -> tuple[str, str, str]:
        """One more key bound to a ready deployment: (key id, secret, prefix)."""
        row = await self._owned(caller, deployment_id)
        if not caller.has("keys:write"):
            raise GatewayError(ErrorKind.PERMISSION_DENIED, "creating keys needs the keys:write scope")
        if len(name) > 200:
            raise invalid("name must be at most 200 characters", "name")
        if row.state != READY:
            raise not_ready(to_value(row))
        key_id, secret, prefix = await self.keys.create(row.owner, row.id, name or f"{row.id} key")
        await self.store.add_key(row.id, key_id, self._clock())
        fresh = await self.store.get(row.id)
        if fresh is None or fresh.state != READY:  # stopped while we were minting: the key must not survive
            await self.revoke_keys(row.id)
            raise not_ready(to_value(fresh or row))
        return key_id, secret, prefix

    async def resolve(self, deployment_id: str) -> Deployment | None:
        """Unchecked read for routing, with the upstream key (None when unknown)."""
        row = await self.store.get(deployment_id) if deployment_id.startswith("dep_") else None
        return to_value(row, self.upstream_key(row)) if row is not None else None

    def upstream_key(self, row: DeploymentRow) -> str:
        """The key to send to the instance: the owner's (unsealed), or the env var's value while the operator
        still maps it to the owner; '' otherwise."""
        if row.upstream_key:
            key = self.store.open(row.upstream_key)
            if not key:
                log.warning("deployment %s: its upstream key does not open under this process's secret key "
                            "(TOKENYARD_SECRET_KEY changed?)", row.id)
            return key
        if row.api_key_env and env_allowed(self._key_envs, row.api_key_env, row.owner):
            return self._env.get(row.api_key_env, "")
        return ""

    # ----- transitions (also used by the health checker) ---------------------------------------
    async def finish(self, deployment_id: str, state: str, error: str = "") -> bool:
        """Live -> stopped/failed/ended, then revoke every key. False when it was already finished."""
        changed = await self.store.finish(deployment_id, state, self._clock(), error)
        if changed:
            log.info("deployment %s is now %s%s", deployment_id, state, f": {error}" if error else "")
        await self.revoke_keys(deployment_id)
        return changed

    async def revoke_keys(self, deployment_id: str) -> None:
        """Revoke every key bound to a finished deployment (retried by the checker until it succeeds)."""
        row = await self.store.get(deployment_id)
        if row is None or row.state in LIVE:
            return
        for key_id in await self.store.key_ids(deployment_id):
            await self.keys.revoke(key_id)
        await self.store.keys_revoked(deployment_id)

    async def mark_ready(self, deployment_id: str) -> bool:
        """The upstream answered: mint the default key and move to ready (the secret waits for one read)."""
        row = await self.store.get(deployment_id)
        if row is None or row.state != PENDING:
            return False
        key_id, secret, _ = await self.keys.create(row.owner, row.id, "default")
        now = self._clock()
        await self.store.add_key(row.id, key_id, now)
        if await self.store.mark_ready(row.id, now, key_id, secret):
            log.info("deployment %s is ready", row.id)
            return True
        await self.keys.revoke(key_id)  # another process won, or it was stopped meanwhile
        return False
