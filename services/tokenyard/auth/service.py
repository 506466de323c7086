"""Auth logic: resolve credentials to principals, create/list/revoke API keys, bootstrap the admin key."""
from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from tokenyard.auth.keygen import display_prefix, hash_secret, looks_like_jwt, new_secret
from tokenyard.auth.platform_jwt import ADMIN_CLAIM, JwtVerifier
from tokenyard.auth.revocations import add_revocation, mark_revoked, revoke_app_keys, revoke_descendants
from tokenyard.auth.tables import Account, ApiKey
from tokenyard.common.ids import new_id
from tokenyard.common.rules import ADMIN_ACCOUNT
from tokenyard.errors import ErrorKind, GatewayError, invalid
from tokenyard.paging import newest_first, older_than, valid_id
from tokenyard.principal import SCOPES, USER_SCOPES, Principal, PrincipalKind
from tokenyard.storage.types import utcnow

AppOwner = Callable[[str], Awaitable[str | None]]
"""`app_owner(app_id)`: the account owning an app, None when there is no such app."""

ADMIN_KEY_ID = "key_admin"
RESERVED_SUBJECTS = frozenset({ADMIN_ACCOUNT})
"""Account ids a JWT may claim only with the admin claim (compared case-insensitively): `sub: "admin"` is the
bootstrap account, unlimited credit included, so only a token the issuer made an admin may act as it."""


def _unauthenticated(message: str = "Invalid API key") -> GatewayError:
    return GatewayError(ErrorKind.UNAUTHENTICATED, message)


def principal_of(key: ApiKey) -> Principal:
    """The principal an API key row grants."""
    if key.deployment_id:
        kind = PrincipalKind.DEPLOYMENT_KEY
    elif key.app_id:
        kind = PrincipalKind.APP_KEY
    else:
        kind = PrincipalKind.PERSONAL_KEY
    return Principal(account_id=key.account_id, kind=kind, scopes=frozenset(key.scopes), key_id=key.id,
                     app_id=key.app_id or "", deployment_id=key.deployment_id or "", rpm=key.rpm, tpm=key.tpm,
                     expires_at=key.expires_at.timestamp() if key.expires_at else 0.0)


def _denied(message: str) -> GatewayError:
    return GatewayError(ErrorKind.PERMISSION_DENIED, message)


def _parent_of(caller: Principal, owner: str, deployment_id: str) -> str | None:
    """The key a new key descends from: the caller's key when it mints for its own account. Keys an admin
    provisions for another account, and deployment keys (minted by the Config service), have none."""
    if not caller.key_id or caller.kind == PrincipalKind.USER or owner != caller.account_id or deployment_id:
        return None
    return caller.key_id


def _child_expiry(caller: Principal, expires_at: dt.datetime | None) -> dt.datetime | None:
    """A child key's expiry: the parent's when none is asked; 400 when asked for later than the parent's."""
    if not caller.expires_at:
        return expires_at
    limit = dt.datetime.fromtimestamp(caller.expires_at, dt.UTC)
    if expires_at is None:
        return limit
    if expires_at > limit + dt.timedelta(milliseconds=1):  # the slack absorbs the float round trip of `limit`
        raise invalid(f"expires_at must not be later than the expiry of the key creating it "
                      f"({limit.isoformat()})", "expires_at")
    return min(expires_at, limit)


class AuthService:
    """Keys and identities over the database. No gRPC here."""

    def __init__(self, sessions: async_sessionmaker, clock: Callable[[], dt.datetime] = utcnow, *,
                 jwt: JwtVerifier | None = None, app_owner: AppOwner | None = None) -> None:
        self._sessions = sessions
        self._clock = clock
        self._jwt = jwt or JwtVerifier()
        self._app_owner = app_owner
        self._known_accounts: set[str] = set()

    def set_app_owner(self, app_owner: AppOwner) -> None:
        """Wire the app ownership lookup (the Config service or its client) after construction."""
        self._app_owner = app_owner

    async def authenticate(self, credential: str) -> Principal:
        """Resolve an API key secret or platform JWT to its principal; UNAUTHENTICATED when unknown, revoked,
        expired or badly signed. A JWT user seen for the first time gets an account."""
        if not credential:
            raise _unauthenticated("Missing API key: send `Authorization: Bearer <key>`")
        if looks_like_jwt(credential):
            return await self._authenticate_jwt(credential)
        async with self._sessions() as s:
            key = (await s.execute(select(ApiKey).where(ApiKey.key_hash == hash_secret(credential)))).scalar()
        if key is None or key.revoked_at is not None:
            raise _unauthenticated()
        if key.expires_at is not None and key.expires_at <= self._clock():
            raise _unauthenticated("API key expired")
        return principal_of(key)

    async def _authenticate_jwt(self, token: str) -> Principal:
        claims = await self._jwt.verify(token)
        account_id = claims["sub"]
        admin = claims.get(ADMIN_CLAIM) is True
        if account_id.lower() in RESERVED_SUBJECTS and not (admin and account_id == ADMIN_ACCOUNT):
            raise _unauthenticated(f'JWT `sub` {account_id!r} is reserved: only a token with "{ADMIN_CLAIM}": '
                                   f"true may act as the bootstrap {ADMIN_ACCOUNT!r} account")
        await self.ensure_account(account_id)
        scopes = USER_SCOPES | ({"admin"} if admin else set())
        exp = claims.get("exp")
        return Principal(account_id=account_id, kind=PrincipalKind.USER, scopes=frozenset(scopes),
                         expires_at=float(exp) if isinstance(exp, (int, float)) else 0.0)

    async def ensure_account(self, account_id: str, *, is_admin: bool = False, plan: str = "") -> None:
        """Provision an account the first time it is seen (remembered in memory afterwards)."""
        if account_id in self._known_accounts:
            return
        try:
            async with self._sessions() as s, s.begin():
                if await s.get(Account, account_id) is None:
                    s.add(Account(id=account_id, is_admin=is_admin, plan=plan, created_at=self._clock()))
        except IntegrityError:
            pass  # provisioned concurrently by another request or process
        self._known_accounts.add(account_id)

    async def create_key(self, caller: Principal, *, name: str, scopes: list[str], app_id: str = "",
                         deployment_id: str = "", expires_at: dt.datetime | None = None, rpm: int = 0,
                         tpm: int = 0, account_id: str = "") -> tuple[ApiKey, str]:
        """Create a key for the caller (or, for admins, any account); return the row and the secret.

        A key never holds more than its creator; an app key (`app_id`) needs an app its owner owns; only
        the Config service (an admin) binds keys to deployments, after checking the deployment's owner. A
        key a key creates for its own account is that key's child: it expires no later (no `expires_at` =
        the parent's) and is revoked with it.
        """
        self._check_key_request(caller, scopes, account_id, expires_at, rpm, tpm, name)
        if deployment_id and not caller.is_admin:
            raise _denied("deployment keys are created with POST /v1/deployments/{id}/keys")
        owner = account_id or caller.account_id
        parent = _parent_of(caller, owner, deployment_id)
        if parent is not None:
            expires_at = _child_expiry(caller, expires_at)
        if app_id:
            app_owner = await self._app_owner(app_id) if self._app_owner is not None else None
            if app_owner is None or (app_owner != owner and not caller.is_admin):
                raise GatewayError(ErrorKind.NOT_FOUND, f"No app {app_id!r}", param="app_id")
            owner = account_id or app_owner
            if app_owner != owner:
                raise invalid("an app key must belong to the app's owner", "account_id")
        await self.ensure_account(owner)
        secret = new_secret()
        row = ApiKey(id=new_id("key"), account_id=owner, name=name, prefix=display_prefix(secret),
                     key_hash=hash_secret(secret), scopes=sorted(set(scopes or ["ai:gateway"])),
                     app_id=app_id or None, deployment_id=deployment_id or None, created_at=self._clock(),
                     expires_at=expires_at, rpm=rpm, tpm=tpm, parent_key_id=parent)
        async with self._sessions() as s, s.begin():
            s.add(row)
        return row, secret

    def _check_key_request(self, caller: Principal, scopes: list[str], account_id: str,
                           expires_at: dt.datetime | None, rpm: int, tpm: int, name: str) -> None:
        if not caller.has("keys:write"):
            raise _denied("creating keys needs the keys:write scope")
        if caller.app_id or caller.deployment_id:
            raise _denied("app and deployment keys cannot manage keys")
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            raise invalid(f"unknown scopes {unknown}; valid: {list(SCOPES)}", "scopes")
        if not caller.is_admin and not set(scopes or ["ai:gateway"]) <= caller.scopes:
            raise _denied("a key cannot hold scopes its creator lacks")
        if account_id and account_id != caller.account_id and not caller.is_admin:
            raise _denied("only admins create keys for other accounts")
        if expires_at is not None and expires_at <= self._clock():
            raise invalid("expires_at must be in the future", "expires_at")
        if len(name) > 200:
            raise invalid("name must be at most 200 characters", "name")
        for field, value in (("rpm", rpm), ("tpm", tpm)):
            if value < 0:
                raise invalid(f"{field} must be >= 0", field)

    async def list_keys(self, caller: Principal, *, app_id: str = "", deployment_id: str = "",
                        include_revoked: bool = False, after: str = "", limit: int | None = None) -> list[ApiKey]:
        """The caller's keys, newest first (live ones unless `include_revoked`), after the key `after` (a page
        cursor: INVALID_ARGUMENT unless it names a key of the caller), at most `limit` (None = all)."""
        if caller.app_id or caller.deployment_id:
            raise _denied("app and deployment keys cannot manage keys")
        if not caller.has("keys:write"):
            raise _denied("listing keys needs the keys:write scope")
        q = select(ApiKey).where(ApiKey.account_id == caller.account_id).order_by(*newest_first(ApiKey))
        if not include_revoked:
            q = q.where(ApiKey.revoked_at.is_(None))
        if app_id:
            q = q.where(ApiKey.app_id == valid_id(app_id, "app_id"))
        if deployment_id:
            q = q.where(ApiKey.deployment_id == valid_id(deployment_id, "deployment_id"))
        if limit is not None:
            q = q.limit(limit)
        async with self._sessions() as s:
            if after:
                cursor = await s.get(ApiKey, valid_id(after))
                if cursor is None or cursor.account_id != caller.account_id:
                    raise invalid(f"'after' names no key of yours ({after!r})", "after")
                q = q.where(older_than(ApiKey, cursor))
            return list((await s.execute(q)).scalars())

    async def revoke_key(self, caller: Principal, key_id: str, *, deployment_keys_only: bool = False) -> ApiKey:
        """Revoke one of the caller's keys (admins: any key; `deployment_keys_only`: only keys bound to a
        deployment). Unknown or foreign ids are NOT_FOUND.
        The revocation joins the feed in the same transaction, so every process drops the key within ~1 s."""
        if caller.app_id or caller.deployment_id:
            raise _denied("app and deployment keys cannot manage keys")
        if not caller.has("keys:write"):
            raise _denied("revoking keys needs the keys:write scope")
        async with self._sessions() as s, s.begin():
            key = await s.get(ApiKey, key_id)
            if key is None or (key.account_id != caller.account_id and not caller.is_admin) or (
                    deployment_keys_only and not key.deployment_id):
                raise GatewayError(ErrorKind.NOT_FOUND, f"No key {key_id!r}")
            now = self._clock()
            if key.revoked_at is None:
                mark_revoked(s, key, now)
            await revoke_descendants(s, key.id, now)
        return key

    async def revoke_app_keys(self, app_id: str) -> int:
        """Revoke every live key of an app being deleted (Config asks, over clients.auth_keys); the revocations
        join the feed in the same transaction. Returns how many keys this call revoked."""
        async with self._sessions() as s, s.begin():
            return len(await revoke_app_keys(s, app_id, self._clock()))

    async def record_key_use(self, uses: dict[str, dt.datetime]) -> int:
        """Set `last_used_at` of many keys in one transaction (newer times only); returns keys updated."""
        updated = 0
        async with self._sessions() as s, s.begin():
            for key_id, used in sorted(uses.items()):
                result = await s.execute(
                    update(ApiKey).where(ApiKey.id == key_id)
                    .where(ApiKey.last_used_at.is_(None) | (ApiKey.last_used_at < used))
                    .values(last_used_at=used).execution_options(synchronize_session=False))
                updated += max(result.rowcount, 0)
        return updated

    async def bootstrap_admin(self, admin_key: str, generate: Callable[[], str] = new_secret) -> str | None:
        """Make sure the admin key exists. With `admin_key` set it becomes the admin secret; without one,
        `generate()` makes the secret on first start (before it is stored: see auth/bootstrap.py) and it is
        returned; later starts return None."""
        await self.ensure_account(ADMIN_ACCOUNT, is_admin=True)
        async with self._sessions() as s, s.begin():
            row = await s.get(ApiKey, ADMIN_KEY_ID)
            if admin_key:
                digest = hash_secret(admin_key)
                if row is None:
                    s.add(ApiKey(id=ADMIN_KEY_ID, account_id=ADMIN_ACCOUNT, name="bootstrap admin",
                                 prefix=display_prefix(admin_key), key_hash=digest, scopes=["admin"],
                                 created_at=self._clock()))
                elif row.key_hash != digest or row.revoked_at is not None:
                    if row.key_hash != digest:
                        add_revocation(s, ADMIN_KEY_ID, row.key_hash, self._clock())
                    await s.execute(update(ApiKey).where(ApiKey.id == ADMIN_KEY_ID).values(
                        key_hash=digest, prefix=display_prefix(admin_key), revoked_at=None))
                return None
            if row is not None:
                return None
            secret = generate()
            s.add(ApiKey(id=ADMIN_KEY_ID, account_id=ADMIN_ACCOUNT, name="bootstrap admin",
                         prefix=display_prefix(secret), key_hash=hash_secret(secret), scopes=["admin"],
                         created_at=self._clock()))
            return secret
