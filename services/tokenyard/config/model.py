"""Apps and per-app AI config as plain values, and the validation every write goes through."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from tokenyard.catalog import BUILTIN_TOOLS, Catalog
from tokenyard.errors import invalid
from tokenyard.payload import loads

MAX_TOKENS_CAP = 100_000
MAX_LIMIT = 2**31 - 1


@dataclass(frozen=True)
class AppInfo:
    """An app's identity."""

    id: str
    name: str
    owner: str
    created_at: dt.datetime


@dataclass(frozen=True)
class AppConfig:
    """Per-app AI config. Zero / empty means "not set": no default model, no cap, all models, no limit."""

    default_model: str = ""
    max_tokens_per_request: int = 0
    allowed_models: tuple[str, ...] = ()
    rpm: int = 0
    tpm: int = 0
    enabled_tools: tuple[str, ...] = ()
    custom_tools_json: str = ""
    require_gateway_key: bool = False
    """Kept for compatibility: passthrough always needs a tokenyard key unless the opt-in below; true forbids it."""
    allow_unauthenticated_passthrough: bool = False
    """Passthrough routes forward and meter calls that carry no tokenyard key (rate limited); off by default."""


@dataclass(frozen=True)
class AppSnapshot:
    """What the Router needs about an app, as cached in memory."""

    app: AppInfo
    config: AppConfig


def validate_config(cfg: AppConfig, catalog: Catalog, webhook_tools: Iterable[str] | None = None) -> AppConfig:
    """The config with allowed models normalised to catalog ids; a 400 naming the (REST) field otherwise.
    `enabledTools` may name the built-ins and `webhook_tools` (the owner's registered ones; None: unchecked)."""
    if not 0 <= cfg.max_tokens_per_request <= MAX_TOKENS_CAP:
        raise invalid(f"maxTokensPerRequest must be an integer from 1 to {MAX_TOKENS_CAP}", "maxTokensPerRequest")
    if len(cfg.allowed_models) > 1000:
        raise invalid("allowedModels takes at most 1000 models", "allowedModels")
    allowed: list[str] = []
    for i, name in enumerate(cfg.allowed_models):
        spec = catalog.resolve(name) if isinstance(name, str) else None
        if spec is None:
            raise invalid(f"allowedModels[{i}]: unknown model {name!r}", f"allowedModels[{i}]")
        if spec.id not in allowed:
            allowed.append(spec.id)
    if cfg.default_model:
        spec = catalog.resolve(cfg.default_model)
        if spec is None:
            raise invalid(f"defaultModel: unknown model {cfg.default_model!r}", "defaultModel")
        if allowed and spec.id not in allowed:
            raise invalid("defaultModel must be one of allowedModels", "defaultModel")
    for name, value in (("rpm", cfg.rpm), ("tpm", cfg.tpm)):
        if not 0 <= value <= MAX_LIMIT:
            raise invalid(f"rateLimits.{name} must be a non-negative integer", f"rateLimits.{name}")
    if cfg.require_gateway_key and cfg.allow_unauthenticated_passthrough:
        raise invalid("allowUnauthenticatedPassthrough cannot be true while requireGatewayKey is true",
                      "allowUnauthenticatedPassthrough")
    _check_tools(cfg)
    if webhook_tools is not None:
        _check_tool_names(cfg.enabled_tools, [*BUILTIN_TOOLS, *sorted(set(webhook_tools) - set(BUILTIN_TOOLS))])
    return replace(cfg, allowed_models=tuple(allowed))


def _check_tools(cfg: AppConfig) -> None:
    if len(cfg.enabled_tools) > 100:
        raise invalid("enabledTools takes at most 100 tools", "enabledTools")
    for i, tool in enumerate(cfg.enabled_tools):
        if not isinstance(tool, str) or not tool.strip() or len(tool) > 64:
            raise invalid(f"enabledTools[{i}] must be a tool name of 1 to 64 characters", f"enabledTools[{i}]")
    if cfg.custom_tools_json:
        tools = loads(cfg.custom_tools_json, "customTools")
        if not isinstance(tools, list):
            raise invalid("customTools must be a JSON array", "customTools")


def _check_tool_names(names: Iterable[str], known: list[str]) -> None:
    unknown = [n for n in names if n not in known]
    if unknown:
        raise invalid(f"enabledTools: unknown tool {unknown[0]!r}; known tools: {', '.join(known)} (built-ins, then "
                      "the webhook tools registered with POST /api/tools)", "enabledTools")
