"""Wire models of the admin REST API: apps, per-app AI config (camelCase, as documented) and API keys."""
from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from tokenyard.principal import SCOPES


class _Closed(BaseModel):
    """Admin bodies reject unknown fields (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AppCreate(_Closed):
    """POST /v1/apps body."""

    name: StrictStr = Field(min_length=1, max_length=200, description="Human name of the app.")


class App(BaseModel):
    """An app."""

    id: str = Field(description="App id (`app_...`).")
    object: Literal["app"] = "app"
    name: str
    owner: str = Field(description="Owning account (the JWT `sub`).")
    created_at: dt.datetime


class Page(BaseModel):
    """A page of a newest-first list (OpenAI style): pass `last_id` as `after` to get the next page."""

    object: Literal["list"] = "list"
    has_more: bool = Field(description="True when more items follow this page.")
    first_id: str | None = Field(description="Id of the first item of this page (null when empty).")
    last_id: str | None = Field(description="Id of the last item of this page (null when empty).")


class AppList(Page):
    """GET /v1/apps answer."""

    data: list[App]


class Deleted(BaseModel):
    """Answer of a DELETE."""

    id: str
    object: str
    deleted: bool = True


class RateLimits(_Closed):
    """Per-app rate limits (null = none)."""

    rpm: StrictInt | None = Field(None, ge=0, le=2**31 - 1, description="Requests per minute.")
    tpm: StrictInt | None = Field(None, ge=0, le=2**31 - 1, description="Tokens per minute.")


class AppConfigBody(_Closed):
    """An app's AI config (PUT replaces it as a whole; omitted fields go back to their defaults)."""

    default_model: StrictStr | None = Field(None, alias="defaultModel",
                                            description="Model used when a request names none.")
    max_tokens_per_request: StrictInt | None = Field(None, alias="maxTokensPerRequest", ge=1, le=100_000,
                                                     description="Cap on max_tokens; also its default.")
    allowed_models: list[StrictStr] = Field(default_factory=list, alias="allowedModels",
                                            description="Models the app may call; empty = all.")
    rate_limits: RateLimits = Field(default_factory=RateLimits, alias="rateLimits")
    enabled_tools: list[StrictStr] = Field(default_factory=list, alias="enabledTools",
                                           description="Built-in tools enabled for the chat API.")
    custom_tools: list[dict[str, Any]] = Field(default_factory=list, alias="customTools",
                                               description="Custom (webhook) tool definitions.")
    require_gateway_key: StrictBool = Field(False, alias="requireGatewayKey",
                                            description="Deprecated (passthrough always needs a tokenyard key "
                                                        "unless allowUnauthenticatedPassthrough); true forbids "
                                                        "allowUnauthenticatedPassthrough.")
    allow_unauthenticated_passthrough: StrictBool = Field(
        False, alias="allowUnauthenticatedPassthrough",
        description="Passthrough routes forward and meter calls without a tokenyard key in "
                    "`tokenyard-authorization` (rate limited by rateLimits, else a default rpm). Off by default.")


class KeyCreate(_Closed):
    """POST /v1/keys body."""

    name: StrictStr = Field("", max_length=200)
    scopes: list[Literal[SCOPES]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["ai:gateway"], description="Subset of the caller's scopes.")
    app_id: StrictStr | None = Field(None, description="Make an app key of one of your apps.")
    expires_at: dt.datetime | None = Field(None, description="Expiry (ISO 8601 or Unix seconds); none = never.")
    rpm: StrictInt | None = Field(None, ge=0, le=2**31 - 1, description="Requests-per-minute limit of the key.")
    tpm: StrictInt | None = Field(None, ge=0, le=2**31 - 1, description="Tokens-per-minute limit of the key.")


class Key(BaseModel):
    """An API key as listed: never the secret."""

    id: str
    object: Literal["api_key"] = "api_key"
    name: str
    prefix: str = Field(description="First characters of the secret, for recognition.")
    scopes: list[str]
    app_id: str | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None = Field(None, description="When the key was revoked (null = live).")
    rpm: int | None
    tpm: int | None


class KeyCreated(Key):
    """POST /v1/keys answer: the only place the secret is ever shown."""

    key: str = Field(description="The secret (`ty_sk_...`); store it now, it is not shown again.")


class KeyList(Page):
    """GET /v1/keys answer."""

    data: list[Key]
