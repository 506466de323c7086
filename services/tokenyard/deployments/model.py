"""Deployment create requests and their validation (the states and the resolved record: common/deployments.py)."""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tokenyard.errors import invalid
from tokenyard.providers.kinds import can, with_capability

MAX_HOURS = 24 * 366
API_KEY_ENV = re.compile(r"^TOKENYARD_DEPLOY_[A-Z0-9_]{1,100}$")
"""Deployment upstream keys are read only from env vars with this prefix, and only by the accounts the operator
maps to each (TOKENYARD_DEPLOY_KEY_ENVS), so a user cannot make the gateway send a secret it holds to a URL of
their choosing."""
API_KEY = re.compile(r"^[\x21-\x7e]{1,1000}$")
"""An owner's own upstream key: printable ASCII without spaces (it goes into an HTTP header as is)."""


@dataclass(frozen=True)
class DeploymentSpec:
    """A validated create request."""

    model: str
    upstream_kind: str
    base_url: str
    api_key_env: str
    hours: float
    api_key: str = field(default="", repr=False)


def env_allowed(key_envs: Mapping[str, Sequence[str]], name: str, account: str) -> bool:
    """True when the operator maps the env var `name` to `account` (TOKENYARD_DEPLOY_KEY_ENVS)."""
    return account in key_envs.get(name, ())


def check_hours(hours: float, field: str = "hours") -> float:
    """Hours must be a finite number above 0 and at most a year."""
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not math.isfinite(hours):
        raise invalid("must be a number of hours", field)
    if not 0 < hours <= MAX_HOURS:
        raise invalid(f"must be above 0 and at most {MAX_HOURS}", field)
    return float(hours)


def validate_spec(model: str, upstream_kind: str, base_url: str, api_key_env: str, hours: float,
                  api_key: str = "") -> DeploymentSpec:
    """The request with every field checked (the URL's SSRF check and the env var's mapping are separate)."""
    model = (model or "").strip()
    if not model or len(model) > 200 or any(ord(c) < 0x20 for c in model):
        raise invalid("model must be 1 to 200 printable characters", "model")
    if not can(upstream_kind, "deployable"):
        raise invalid(f"upstream.kind must be one of {list(with_capability('deployable'))}", "upstream.kind")
    if not base_url:
        raise invalid("upstream.base_url is required", "upstream.base_url")
    if api_key_env and not API_KEY_ENV.match(api_key_env):
        raise invalid("upstream.api_key_env must name an env var starting with TOKENYARD_DEPLOY_ "
                      "(A-Z, 0-9, _)", "upstream.api_key_env")
    if api_key and not API_KEY.match(api_key):
        raise invalid("upstream.api_key must be 1 to 1000 printable ASCII characters without spaces",
                      "upstream.api_key")
    if api_key and api_key_env:
        raise invalid("send either upstream.api_key or upstream.api_key_env, not both", "upstream.api_key")
    return DeploymentSpec(model, upstream_kind, base_url.rstrip("/"), api_key_env, check_hours(hours), api_key)
