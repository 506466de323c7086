"""Wire models of the deployments API."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr


class _Closed(BaseModel):
    """Bodies reject unknown fields (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class Upstream(_Closed):
    """The instance's API."""

    kind: StrictStr = Field(min_length=1, max_length=100,
                            description="API flavour of the instance: a provider kind that can be a deployment "
                                        "upstream (OpenAI-compatible today); others are refused with 400.")
    base_url: StrictStr = Field(min_length=1, max_length=2048,
                                description="Base URL of the instance API, e.g. `https://host/v1`. Loopback, "
                                            "private and link-local addresses need TOKENYARD_EGRESS_ALLOW.")
    api_key: StrictStr | None = Field(None, min_length=1, max_length=1000, repr=False,
                                      description="The instance's API key: stored encrypted, sent only to "
                                                  "`base_url`, never shown again.")
    api_key_env: StrictStr | None = Field(None, max_length=200,
                                          description="Env var (TOKENYARD_DEPLOY_*) holding the instance's key; "
                                                      "only one the operator maps to your account "
                                                      "(TOKENYARD_DEPLOY_KEY_ENVS), else 403.")


class DeploymentCreate(_Closed):
    """POST /v1/deployments body."""

    model: StrictStr = Field(min_length=1, max_length=200, description="Model name the instance serves.")
    upstream: Upstream
    hours: StrictFloat | StrictInt = Field(gt=0, le=24 * 366, description="Lifetime in hours.")


class DeploymentExtend(_Closed):
    """POST /v1/deployments/{id}/extend body."""

    hours: StrictFloat | StrictInt = Field(gt=0, le=24 * 366, description="Hours to add.")


class DeploymentKeyCreate(_Closed):
    """POST /v1/deployments/{id}/keys body (optional)."""

    name: StrictStr = Field("", max_length=200)


class UpstreamOut(BaseModel):
    """The instance's API as stored."""

    kind: str
    base_url: str
    api_key_env: str | None
    has_api_key: bool = Field(False, description="True when the owner gave the instance's key (never shown).")


class DeploymentOut(BaseModel):
    """A deployment. `key` (the default key's secret) appears once: on the owner's first read after `ready`."""

    id: str
    object: Literal["deployment"] = "deployment"
    owner: str
    model: str
    upstream: UpstreamOut
    state: Literal["pending", "ready", "stopped", "failed", "ended"]
    created_at: dt.datetime
    ends_at: dt.datetime
    ready_at: dt.datetime | None
    finished_at: dt.datetime | None
    last_error: str | None
    default_key_id: str | None
    key: str | None = Field(None, description="Secret of the default key; shown once, never again.")


class DeploymentList(BaseModel):
    """GET /v1/deployments answer."""

    object: Literal["list"] = "list"
    data: list[DeploymentOut]


class DeploymentKey(BaseModel):
    """A new key bound to a deployment (the secret is shown only here)."""

    id: str
    object: Literal["api_key"] = "api_key"
    deployment_id: str
    prefix: str
    key: str
