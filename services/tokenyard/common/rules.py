"""Access rules every service applies the same way: who reaches an app, which models an app may call, the
bootstrap admin account."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tokenyard.principal import Principal


class AppInfo(Protocol):
    """What the rules read of an app (Config's `AppInfo`)."""

    @property
    def id(self) -> str: ...

    @property
    def owner(self) -> str: ...


class AppConfig(Protocol):
    """What the rules read of an app's AI config (Config's `AppConfig`)."""

    @property
    def allowed_models(self) -> Sequence[str]: ...


ADMIN_ACCOUNT = "admin"


def can_access(caller: Principal, app: AppInfo) -> bool:
    """Owners and admins reach an app; an app key only its own app."""
    if caller.app_id and caller.app_id != app.id:
        return False
    return caller.is_admin or app.owner == caller.account_id


def allows(cfg: AppConfig, model_id: str) -> bool:
    """True when the app may call the model (by catalog id; empty list = all)."""
    return not cfg.allowed_models or model_id in cfg.allowed_models
