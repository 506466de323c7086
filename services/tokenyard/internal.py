"""The services' internal credential: a shared secret of its own (never the admin key), in its own metadata key."""
from __future__ import annotations

import hmac
import secrets

import grpc

from tokenyard.clients.auth_cache import Authenticator
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.grpcutil import credential_from, metadata_value
from tokenyard.principal import Principal, PrincipalKind
from tokenyard.settings import SERVICES, Settings

INTERNAL_METADATA = "x-tokenyard-internal"
"""gRPC metadata key carrying the internal secret. Only services set it: the HTTP facade forwards a client's
`Authorization` as `authorization` and nothing else, and Envoy strips this key from public traffic."""
INTERNAL_ACCOUNT = "internal"
INTERNAL_SCOPE = "internal"
INTERNAL = Principal(account_id=INTERNAL_ACCOUNT, kind=PrincipalKind.UNSPECIFIED,
                     scopes=frozenset({INTERNAL_SCOPE}))
"""A service calling another. Not the admin account, no user scope, no key row (so no key API can revoke it);
each servicer lets it call only the RPCs other services need."""
KEY_MINTER = Principal(account_id=INTERNAL_ACCOUNT, kind=PrincipalKind.PERSONAL_KEY, scopes=frozenset({"admin"}))
"""What the Auth service acts as when the internal principal mints or revokes a deployment's keys (any account's,
deployment keys only): the one place the internal credential reaches admin rights, for that one purpose."""
MIN_SECRET_CHARS = 32


class MissingInternalSecret(Exception):
    """A split process started without TOKENYARD_INTERNAL_SECRET."""


def is_internal(principal: Principal) -> bool:
    """True for the internal principal only (what `caller_of` returns for the internal secret)."""
    return principal == INTERNAL


def internal_metadata(secret: str) -> tuple[tuple[str, str], ...]:
    """Call metadata presenting the internal secret."""
    return ((INTERNAL_METADATA, secret),)


def _presented(context: grpc.aio.ServicerContext, secret: str) -> bool:
    """True when the call carries the internal secret; UNAUTHENTICATED when it carries another value."""
    value = metadata_value(context, INTERNAL_METADATA)
    if not value:
        return False
    if secret and hmac.compare_digest(value.encode(), secret.encode()):
        return True
    raise GatewayError(ErrorKind.UNAUTHENTICATED, "Invalid internal credential (is TOKENYARD_INTERNAL_SECRET "
                                                  "the same on every process?)")


async def caller_of(context: grpc.aio.ServicerContext, auth: Authenticator, secret: str, *,
                    internal: bool = False) -> Principal:
    """Who calls: the internal principal when the call presents the internal secret (PERMISSION_DENIED unless
    `internal` says this RPC is open to it), otherwise the principal of the `authorization` credential."""
    if _presented(context, secret):
        if not internal:
            raise GatewayError(ErrorKind.PERMISSION_DENIED, "this RPC is not open to the internal credential")
        return INTERNAL
    return await auth.authenticate(credential_from(context))


def require_internal(caller: Principal, *, admin: bool = True) -> None:
    """PERMISSION_DENIED unless the caller is the internal principal (or, with `admin`, an admin)."""
    if not (is_internal(caller) or (admin and caller.is_admin)):
        raise GatewayError(ErrorKind.PERMISSION_DENIED, "internal RPC: needs the internal credential"
                           + (" or the admin scope" if admin else ""))


def with_internal_secret(settings: Settings, services: tuple[str, ...]) -> Settings:
    """The settings carrying the internal secret this process uses: the configured one; when unset and this one
    process runs every service (all-in-one), a random one kept in memory and shared by its parts; otherwise
    (split) MissingInternalSecret, since every process of a split deployment must present the same secret."""
    if settings.internal_secret:
        return settings
    if set(services) >= set(SERVICES):
        return settings.model_copy(update={"internal_secret": secrets.token_urlsafe(32)})
    raise MissingInternalSecret(
        "TOKENYARD_INTERNAL_SECRET must be set, the same on every process, when services run split "
        f"(at least {MIN_SECRET_CHARS} characters, e.g. from `python -c \"import secrets; "
        "print(secrets.token_urlsafe(32))\"`)")
