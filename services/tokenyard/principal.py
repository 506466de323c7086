"""The authenticated caller, shared by every service."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

SCOPES = ("ai:gateway", "apps:write", "keys:write", "usage:read", "admin")
USER_SCOPES = frozenset(s for s in SCOPES if s != "admin")
"""What a platform user (JWT) may do on their own account."""


class PrincipalKind(enum.IntEnum):
    """Kind of credential (values equal tokenyard.common.v1.PrincipalKind)."""

    UNSPECIFIED = 0
    USER = 1
    PERSONAL_KEY = 2
    APP_KEY = 3
    DEPLOYMENT_KEY = 4


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account acted for, the key used and what it may do."""

    account_id: str
    kind: PrincipalKind
    scopes: frozenset[str] = field(default_factory=frozenset)
    key_id: str = ""
    app_id: str = ""
    deployment_id: str = ""
    rpm: int = 0
    tpm: int = 0
    expires_at: float = 0.0
    """Unix time after which the credential is invalid (key expiry, JWT `exp`); 0 = never."""

    @property
    def bound(self) -> bool:
        """True for a key bound to a deployment: it reaches only inference on that deployment."""
        return bool(self.deployment_id)

    @property
    def is_admin(self) -> bool:
        """Admins may do everything, on every account (a deployment-bound key never is one)."""
        return not self.bound and "admin" in self.scopes

    def has(self, scope: str) -> bool:
        """True when the principal holds `scope` (admin implies all). A deployment-bound key holds no scope:
        its one right, inference on its deployment, is granted by the Router's deployment policy alone."""
        return not self.bound and (self.is_admin or scope in self.scopes)


def bound_key_refused(principal: Principal) -> str:
    """Why a deployment-bound key is refused outside inference on its deployment (the 403 message)."""
    return (f"This key is bound to deployment {principal.deployment_id!r}: it can only call "
            "POST /v1/chat/completions with that deployment's model")
