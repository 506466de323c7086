"""Config logic: apps and their AI config over the database, with ownership checks. No gRPC here."""
from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from tokenyard.catalog import Catalog
from tokenyard.common.ids import new_id
from tokenyard.common.rules import can_access
from tokenyard.config.changes import add_change
from tokenyard.config.model import AppConfig, AppInfo, AppSnapshot, validate_config
from tokenyard.config.tables import AppConfigRow, AppRow
from tokenyard.errors import ErrorKind, GatewayError, invalid
from tokenyard.paging import newest_first, older_than, valid_id
from tokenyard.principal import Principal
from tokenyard.storage.types import utcnow

ToolNames = Callable[[str, str], Awaitable[Iterable[str]]]
"""(owner account, app id) -> names of the owner's webhook tools for that app (see validate_config)."""
RevokeAppKeys = Callable[[str], Awaitable[int]]
"""app id -> keys revoked: Auth's RevokeAppKeys (clients.auth_keys), in-process or over gRPC."""


def _info(row: AppRow) -> AppInfo:
    return AppInfo(id=row.id, name=row.name, owner=row.owner, created_at=row.created_at)


def _config(row: AppConfigRow | None) -> AppConfig:
    if row is None:
        return AppConfig()
    return AppConfig(default_model=row.default_model, max_tokens_per_request=row.max_tokens_per_request,
                     allowed_models=tuple(row.allowed_models), rpm=row.rpm, tpm=row.tpm,
                     enabled_tools=tuple(row.enabled_tools), custom_tools_json=row.custom_tools_json,
                     require_gateway_key=bool(row.require_gateway_key),
                     allow_unauthenticated_passthrough=bool(row.allow_unauthenticated_passthrough))


def _not_found(app_id: str) -> GatewayError:
    return GatewayError(ErrorKind.NOT_FOUND, f"No app {app_id!r}")


def _need_apps_scope(caller: Principal) -> None:
    if not caller.has("apps:write"):
        raise GatewayError(ErrorKind.PERMISSION_DENIED, "managing apps needs the apps:write scope")


class ConfigService:
    """Apps and per-app AI config. Users see only their own apps; admins see all."""

    def __init__(self, sessions: async_sessionmaker, catalog: Catalog,
                 clock: Callable[[], dt.datetime] = utcnow, tool_names: ToolNames | None = None,
                 revoke_app_keys: RevokeAppKeys | None = None) -> None:
        self._sessions = sessions
        self.catalog = catalog
        self._clock = clock
        self._tool_names = tool_names
        self._revoke_app_keys = revoke_app_keys

    async def snapshot(self, app_id: str) -> AppSnapshot | None:
        """An app and its config, unchecked (for in-process caches); None when there is no such app."""
        async with self._sessions() as s:
            row = await s.get(AppRow, app_id)
            if row is None:
                return None
            return AppSnapshot(_info(row), _config(await s.get(AppConfigRow, app_id)))

    async def _owned(self, caller: Principal, app_id: str) -> AppSnapshot:
        snap = await self.snapshot(app_id) if app_id.startswith("app_") else None
        if snap is None or not can_access(caller, snap.app):
            raise _not_found(app_id)
        return snap

    async def create_app(self, caller: Principal, name: str) -> AppInfo:
        """A new app owned by the caller."""
        _need_apps_scope(caller)
        if caller.app_id or caller.deployment_id:
            raise GatewayError(ErrorKind.PERMISSION_DENIED, "app and deployment keys cannot create apps")
        name = name.strip()
        if not name or len(name) > 200:
            raise invalid("name must be 1 to 200 characters", "name")
        row = AppRow(id=new_id("app"), name=name, owner=caller.account_id, created_at=self._clock())
        async with self._sessions() as s, s.begin():
            s.add(row)
            add_change(s, "app", row.id, row.created_at)
        return _info(row)

    async def get_app(self, caller: Principal, app_id: str) -> AppInfo:
        """One app the caller may see (NOT_FOUND otherwise, whether or not it exists)."""
        _need_apps_scope(caller)
        return (await self._owned(caller, app_id)).app

    async def list_apps(self, caller: Principal, *, after: str = "", limit: int | None = None) -> list[AppInfo]:
        """The caller's apps (admins: every app), newest first, after the app `after` (a page cursor:
        INVALID_ARGUMENT unless the caller may see that app), at most `limit` (None = all)."""
        _need_apps_scope(caller)
        q = select(AppRow).order_by(*newest_first(AppRow))
        if caller.app_id:
            q = q.where(AppRow.id == caller.app_id)
        if not caller.is_admin:
            q = q.where(AppRow.owner == caller.account_id)
        if limit is not None:
            q = q.limit(limit)
        async with self._sessions() as s:
            if after:
                cursor = await s.get(AppRow, valid_id(after))
                if cursor is None or not can_access(caller, _info(cursor)):
                    raise invalid(f"'after' names no app of yours ({after!r})", "after")
                q = q.where(older_than(AppRow, cursor))
            return [_info(r) for r in (await s.execute(q)).scalars()]

    async def delete_app(self, caller: Principal, app_id: str) -> AppInfo:
        """Revoke every key of the app (Auth does, through the same revocation feed as RevokeKey, so every
        process drops them within about a second), then delete the app and its config in one transaction. The
        keys go first: a failure leaves an app without keys, never keys of a deleted app."""
        _need_apps_scope(caller)
        if caller.app_id or caller.deployment_id:
            raise GatewayError(ErrorKind.PERMISSION_DENIED, "app and deployment keys cannot delete apps")
        snap = await self._owned(caller, app_id)
        if self._revoke_app_keys is None:
            raise GatewayError(ErrorKind.UNAVAILABLE, "apps cannot be deleted: no Auth service to revoke their keys")
        await self._revoke_app_keys(app_id)
        now = self._clock()
        async with self._sessions() as s, s.begin():
            await s.execute(delete(AppConfigRow).where(AppConfigRow.app_id == app_id))
            await s.execute(delete(AppRow).where(AppRow.id == app_id))
            add_change(s, "app", app_id, now)
        return snap.app

    async def get_app_config(self, caller: Principal, app_id: str) -> AppConfig:
        """An app's AI config (defaults when never set)."""
        _need_apps_scope(caller)
        return (await self._owned(caller, app_id)).config

    async def put_app_config(self, caller: Principal, app_id: str, cfg: AppConfig) -> AppConfig:
        """Replace an app's AI config after validating every field."""
        _need_apps_scope(caller)
        snap = await self._owned(caller, app_id)
        webhooks = (await self._tool_names(snap.app.owner, app_id)
                    if self._tool_names is not None and cfg.enabled_tools else None)
        cfg = validate_config(cfg, self.catalog, webhooks)
        now = self._clock()
        async with self._sessions() as s, s.begin():
            row = await s.get(AppConfigRow, app_id) or AppConfigRow(app_id=app_id)
            row.default_model, row.max_tokens_per_request = cfg.default_model, cfg.max_tokens_per_request
            row.allowed_models, row.rpm, row.tpm = list(cfg.allowed_models), cfg.rpm, cfg.tpm
            row.enabled_tools, row.custom_tools_json = list(cfg.enabled_tools), cfg.custom_tools_json
            row.require_gateway_key = cfg.require_gateway_key
            row.allow_unauthenticated_passthrough = cfg.allow_unauthenticated_passthrough
            row.updated_at = now
            s.add(row)
            add_change(s, "app_config", app_id, now)
        return cfg

    async def models_for(self, caller: Principal | None, app_id: str) -> tuple[str, ...]:
        """Allowed model ids of an app the caller may access (empty = all); () without an app."""
        if not app_id:
            return ()
        if caller is None:
            raise GatewayError(ErrorKind.UNAUTHENTICATED, "listing an app's models needs an API key")
        return (await self._owned(caller, app_id)).config.allowed_models
