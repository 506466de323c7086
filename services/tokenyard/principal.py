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
    def is_admin(self) -> bool:
        """Admins may do everything, on every account."""
        return "admin" in self.scopes

    def has(self, scope: str) -> bool:
        """True when the principal holds `scope` (admin implies all)."""
        return self.is_admin or scope in self.scopes
