"""The model catalog: providers, models, prices and plans from the default YAML plus TOKENYARD_CONFIG."""
from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tokenyard.providers import kinds

DEFAULT_CONFIG = Path(__file__).with_name("default_config.yaml")


class ConfigError(Exception):
    """The config file is invalid; the message names the offending key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Timeouts(_Strict):
    """Per-provider timeouts in seconds."""

    connect: float = 5.0
    first_byte: float = 60.0
    total: float = 600.0


class ProviderSpec(_Strict):
    """An upstream provider. Secrets are referenced by env var name, never stored."""

    kind: str
    """A provider kind declared in `providers/kinds.py` (which says what it can do)."""
    base_url: str = ""
    api_key_env: str = ""
    api_version: str = ""
    headers: dict[str, str] = Field(default_factory=dict)
    timeouts: Timeouts = Timeouts()
    max_retries: int = Field(2, ge=0, le=10)
    circuit_failures: int = Field(5, ge=1)
    circuit_reset_seconds: float = Field(30.0, gt=0)
    circuit_min_accounts: int = Field(3, ge=1)
    """Distinct accounts whose failures it takes to open the provider's shared circuit (inference/circuit.py)."""

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if not kinds.known(kind):
            raise ValueError(f"unknown provider kind {kind!r} (known: {', '.join(sorted(kinds.KINDS))})")
        return kind

    def api_key(self, env: Mapping[str, str] | None = None) -> str:
        """The provider's API key from the environment ('' when unset)."""
        return (env if env is not None else os.environ).get(self.api_key_env, "") if self.api_key_env else ""

    def configured(self, env: Mapping[str, str] | None = None) -> bool:
        """True when the provider can be called (local, or its key is set / none needed)."""
        return not kinds.can(self.kind, "needs_key") or not self.api_key_env or bool(self.api_key(env))


class Pricing(_Strict):
    """List prices in USD."""

    input_per_mtok_usd: Decimal = Decimal(0)
    output_per_mtok_usd: Decimal = Decimal(0)
    per_call_usd: Decimal = Decimal(0)
    per_second_usd: Decimal = Decimal(0)


class Target(_Strict):
    """One place a model can be served from."""

    provider: str
    upstream_model: str
    weight: float = Field(1.0, gt=0)


class ModelSpec(_Strict):
    """A catalog model as clients see it."""

    id: str
    type: Literal["chat", "embedding", "video"]
    provider: str = ""
    upstream_model: str = ""
    targets: tuple[Target, ...] = ()
    fallbacks: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    context_window: int = 0
    max_output_tokens: int = 0
    dimensions: int = 0
    max_inputs: int = 2048
    sizes: tuple[str, ...] = ()
    max_seconds: float = 0
    default_seconds: float = 0
    owned_by: str = ""
    pricing: Pricing = Pricing()

    @model_validator(mode="after")
    def _targets(self) -> "ModelSpec":
        if not self.targets:
            if not self.provider:
                raise ValueError("needs `provider` (with `upstream_model`) or `targets`")
            target = Target(provider=self.provider, upstream_model=self.upstream_model or self.id)
            object.__setattr__(self, "targets", (target,))
        if not self.provider:
            object.__setattr__(self, "provider", self.targets[0].provider)
        return self

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> Decimal:
        """Exact token cost in USD."""
        p = self.pricing
        return (Decimal(prompt_tokens) * p.input_per_mtok_usd
                + Decimal(completion_tokens) * p.output_per_mtok_usd) / Decimal(1_000_000)


class Plan(_Strict):
    """A billing plan with a monthly credit allowance."""

    name: str
    monthly_credits_usd: Decimal = Decimal(0)
    default: bool = False


BUILTIN_TOOLS = ("calculator", "search", "weather")
"""The built-in chat tools an app's `enabledTools` may name (besides its owner's webhook tools)."""


class ToolBackend(_Strict):
    """HTTP backend of a built-in tool (weather, search)."""

    url: str
    api_key_env: str = ""
    geocoding_url: str = ""


class ConfigFile(_Strict):
    """The YAML document."""

    include_defaults: bool = True
    providers: dict[str, ProviderSpec] = Field(default_factory=dict)
    models: list[ModelSpec] = Field(default_factory=list)
    plans: list[Plan] = Field(default_factory=list)
    tools: dict[str, ToolBackend | None] = Field(default_factory=dict)
    """Built-in tool backends; `null` turns a default one off."""


class Catalog:
    """Resolved, cross-checked catalog. Immutable after load."""

    def __init__(self, doc: ConfigFile) -> None:
        self.providers: dict[str, ProviderSpec] = dict(doc.providers)
        self.models: dict[str, ModelSpec] = {m.id: m for m in doc.models}
        self.plans: dict[str, Plan] = {p.name: p for p in doc.plans}
        self.tools: dict[str, ToolBackend] = {k: v for k, v in doc.tools.items() if v is not None}
        self._names: dict[str, ModelSpec] = {}
        self._check()

    def _check(self) -> None:
        for m in self.models.values():
            for i, t in enumerate(m.targets):
                if t.provider not in self.providers:
                    raise ConfigError(f"models[{m.id}].targets[{i}].provider: unknown provider {t.provider!r}")
            for fb in m.fallbacks:
                if fb not in self.models:
                    raise ConfigError(f"models[{m.id}].fallbacks: unknown model {fb!r}")
            for name in (m.id, *m.aliases):
                other = self._names.get(name)
                if other is not None and other.id != m.id:
                    raise ConfigError(f"models[{m.id}].aliases: {name!r} already names {other.id!r}")
                self._names[name] = m
        defaults = [p.name for p in self.plans.values() if p.default]
        if self.plans and len(defaults) != 1:
            raise ConfigError(f"plans: exactly one plan must have default: true (found {defaults})")

    def resolve(self, name: str) -> ModelSpec | None:
        """The model named by id or alias."""
        return self._names.get(name)

    def default_plan(self) -> Plan | None:
        """The plan new accounts get."""
        return next((p for p in self.plans.values() if p.default), None)

    def usable(self, spec: ModelSpec, env: Mapping[str, str] | None = None) -> bool:
        """True when one of the model's targets can be called (its provider is local, keyless or has its key)."""
        return any(self.providers[t.provider].configured(env) for t in spec.targets)

    def default_chat_model(self, preferred: str, env: Mapping[str, str] | None = None) -> str:
        """`preferred` when it names a usable chat model, else the first usable chat model (e.g. local/echo on a
        machine without provider keys), else `preferred` (whose call then says which key is missing)."""
        spec = self.resolve(preferred)
        if spec is not None and spec.type == "chat" and self.usable(spec, env):
            return preferred
        return next((m.id for m in self.models.values() if m.type == "chat" and self.usable(m, env)), preferred)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Entries of `top` replace same-id/name entries of `base`; new ones are added."""
    out = dict(base)
    for section in ("providers", "tools"):
        out[section] = {**base.get(section, {}), **(top.get(section) or {})}
    for section, key in (("models", "id"), ("plans", "name")):
        merged = {e[key]: e for e in base.get(section, []) if isinstance(e, dict) and key in e}
        extra = [e for e in base.get(section, []) if not (isinstance(e, dict) and key in e)]
        for e in top.get(section) or []:
            if isinstance(e, dict) and key in e:
                merged[e[key]] = e
            else:
                extra.append(e)
        out[section] = [*merged.values(), *extra]
    for k, v in top.items():
        if k not in ("providers", "tools", "models", "plans"):
            out[k] = v
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    return doc


def _describe(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"])
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


def load_catalog(path: Path | None = None) -> Catalog:
    """Load the default catalog and the optional file on top; raise ConfigError naming any bad key."""
    top = _read_yaml(path) if path else {}
    base = _read_yaml(DEFAULT_CONFIG) if top.get("include_defaults", True) else {}
    raw = _merge(base, top)
    raw.pop("include_defaults", None)
    try:
        doc = ConfigFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path or DEFAULT_CONFIG}: {_describe(exc)}") from None
    return Catalog(doc)
