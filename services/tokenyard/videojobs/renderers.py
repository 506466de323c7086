"""The video renderer Protocol, and the renderers of the providers whose kind declares `video` (providers/kinds.py)."""
from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from tokenyard.catalog import Catalog
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.providers import registry
from tokenyard.providers.base import UpstreamTarget


@dataclass
class RenderJob:
    """What a renderer makes, and how it reports back.

    `progress(pct)` may be called from any thread; `checkpoint(state)` persists provider state (e.g. the
    upstream job id) so a worker that takes over a lost job resumes instead of starting again;
    `state` is the last checkpointed state (empty on a first attempt).
    """

    job_id: str
    prompt: str
    seconds: float
    width: int
    height: int
    out: Path
    progress: Callable[[int], None]
    checkpoint: Callable[[dict[str, Any]], Awaitable[None]]
    state: dict[str, Any] = field(default_factory=dict)


class VideoRenderer(Protocol):
    """One provider kind's video generation. Writes an MP4 to `job.out`; raises GatewayError on failure.

    Must not block the event loop (CPU work goes to a thread); must stop promptly when cancelled.
    """

    async def render(self, target: UpstreamTarget, job: RenderJob) -> None: ...


class VideoRenderers:
    """Renderers by provider kind and resolved targets by provider id."""

    def __init__(self, catalog: Catalog, http: httpx.AsyncClient, options: Mapping[str, Any] | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self._catalog = catalog
        self._http = http
        self._options = dict(options or {})
        self._env = env if env is not None else os.environ
        self._built: dict[str, VideoRenderer] = {}

    def supports(self, provider_id: str) -> bool:
        """True when the provider's kind can make videos."""
        spec = self._catalog.providers.get(provider_id)
        return spec is not None and registry.can(spec.kind, "video")

    def renderer(self, provider_id: str) -> VideoRenderer:
        """The renderer of a provider's kind (built once)."""
        spec = self._catalog.providers[provider_id]
        if not registry.can(spec.kind, "video"):
            raise GatewayError(ErrorKind.INVALID_REQUEST, f"provider {provider_id!r} cannot generate videos",
                               param="model")
        if spec.kind not in self._built:
            renderer = registry.load(registry.capabilities(spec.kind).video)
            self._built[spec.kind] = renderer(self._http, self._options)
        return self._built[spec.kind]

    def target(self, provider_id: str, upstream_model: str) -> UpstreamTarget:
        """The resolved upstream target; PROVIDER_NOT_CONFIGURED when its credentials are missing."""
        spec = self._catalog.providers[provider_id]
        if not spec.configured(self._env):
            raise GatewayError(ErrorKind.PROVIDER_NOT_CONFIGURED,
                               f"provider {provider_id!r} has no credentials configured "
                               f"(set {spec.api_key_env})")
        return UpstreamTarget(provider_id=provider_id, spec=spec, upstream_model=upstream_model,
                              api_key=spec.api_key(self._env))
