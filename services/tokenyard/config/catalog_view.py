"""The catalog as the Config service lists it (public list with pricing, availability per provider)."""
from __future__ import annotations

import os
from collections.abc import Mapping

from tokenyard.catalog import Catalog, ModelSpec, ProviderSpec
from tokenyard.config.v1 import config_service_pb2 as pb


def unavailable_reason(provider_id: str, provider: ProviderSpec, env: Mapping[str, str]) -> str:
    """Why a provider's models cannot be called ("" when they can); names the variable, never its value."""
    if provider.configured(env):
        return ""
    return f"provider {provider_id!r} has no API key: {provider.api_key_env} is not set"


def model_to_pb(m: ModelSpec, catalog: Catalog, env: Mapping[str, str] | None = None) -> pb.Model:
    """Catalog model -> proto (prices as decimal strings)."""
    provider = catalog.providers[m.provider]
    p = m.pricing
    env = env if env is not None else os.environ
    reason = unavailable_reason(m.provider, provider, env)
    return pb.Model(
        id=m.id, type=m.type, provider=m.provider, provider_kind=provider.kind, context_window=m.context_window,
        dimensions=m.dimensions, aliases=list(m.aliases), owned_by=m.owned_by or m.provider, sizes=list(m.sizes),
        max_seconds=int(m.max_seconds), available=not reason, unavailable_reason=reason,
        pricing=pb.Pricing(input_per_mtok_usd=str(p.input_per_mtok_usd), output_per_mtok_usd=str(p.output_per_mtok_usd),
                           per_call_usd=str(p.per_call_usd), per_second_usd=str(p.per_second_usd)))


def list_models(catalog: Catalog, *, type_: str = "", allowed: list[str] | None = None) -> list[ModelSpec]:
    """Catalog models, optionally of one type and within an app's allowed list (empty = all)."""
    out = []
    for m in catalog.models.values():
        if type_ and m.type != type_:
            continue
        if allowed and not ({m.id, *m.aliases} & set(allowed)):
            continue
        out.append(m)
    return out
