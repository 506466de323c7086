"""Deployments as every service sees them: the states, the resolved record the Router routes with, and the 409
a request to a deployment that cannot answer gets. Owned by Config (tokenyard.deployments)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tokenyard.errors import ErrorKind, GatewayError

PENDING, READY, STOPPED, FAILED, ENDED = "pending", "ready", "stopped", "failed", "ended"
LIVE = (PENDING, READY)
TERMINAL = (STOPPED, FAILED, ENDED)


@dataclass(frozen=True)
class Deployment:
    """A deployment as services and the Router see it (never the key secret)."""

    id: str
    owner: str
    model: str
    upstream_kind: str
    base_url: str
    api_key_env: str
    state: str
    created_at: dt.datetime
    ends_at: dt.datetime
    last_error: str = ""
    default_key_id: str = ""
    ready_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    has_api_key: bool = False
    api_key: str = field(default="", repr=False, compare=False)
    """The key the Router sends upstream: only on values resolved for routing, never shown to anyone."""


def not_ready(dep: Deployment) -> GatewayError:
    """The 409 a request to a deployment that cannot answer yet (or any more) gets."""
    detail = f" (last health check: {dep.last_error})" if dep.last_error and dep.state == PENDING else ""
    return GatewayError(ErrorKind.DEPLOYMENT_NOT_READY, f"Deployment {dep.id!r} is {dep.state}, not ready{detail}",
                        metadata={"deployment_state": dep.state})
