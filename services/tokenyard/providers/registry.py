"""Builds the adapter for each configured provider from the kinds declared in `providers/kinds.py` (which also
answers what each kind can do: `can`, `usage_parser`, `model_from_path`, re-exported here)."""
from __future__ import annotations

import os
from collections.abc import Mapping

import httpx

from tokenyard.catalog import Catalog, Target
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.providers import kinds
from tokenyard.providers.base import Provider, UpstreamTarget
from tokenyard.providers.kinds import (can, capabilities, known, load, model_from_path, usage_parser,
                                      with_capability)

__all__ = ["ProviderRegistry", "can", "capabilities", "known", "load", "model_from_path", "usage_parser",
           "with_capability"]


def _load(kind: str, http: httpx.AsyncClient) -> Provider:
    return kinds.load(kinds.capabilities(kind).adapter)(http)


class ProviderRegistry:
    """Adapters by provider kind and resolved targets by provider id."""

    def __init__(self, catalog: Catalog, http: httpx.AsyncClient, env: Mapping[str, str] | None = None,
                 adapters: Mapping[str, Provider] | None = None) -> None:
        self._catalog = catalog
        self._env = env if env is not None else os.environ
        self._adapters: dict[str, Provider] = dict(adapters or {})
        self.http = http

    @property
    def catalog(self) -> Catalog:
        """The catalog targets are resolved against."""
        return self._catalog

    def adapter(self, kind: str) -> Provider:
        """The adapter of a provider kind (built once)."""
        if kind not in self._adapters:
            self._adapters[kind] = _load(kind, self.http)
        return self._adapters[kind]

    def target(self, target: Target) -> UpstreamTarget:
        """Resolve a catalog target; PROVIDER_NOT_CONFIGURED when its credentials are missing."""
        spec = self._catalog.providers[target.provider]
        if not spec.configured(self._env):
            raise GatewayError(ErrorKind.PROVIDER_NOT_CONFIGURED,
                               f"provider {target.provider!r} has no credentials configured "
                               f"(set {spec.api_key_env})")
        return UpstreamTarget(provider_id=target.provider, spec=spec, upstream_model=target.upstream_model,
                              api_key=spec.api_key(self._env))
