"""Builds the Embeddings service of a process: a runner per local embedding model in the catalog."""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import httpx

from tokenyard.catalog import Catalog
from tokenyard.clients.router import Dispatcher, Router
from tokenyard.embeddings.local_provider import LocalEmbeddingProvider
from tokenyard.embeddings.model import SentenceModel
from tokenyard.embeddings.runner import EmbeddingModel, LocalRunner
from tokenyard.embeddings.service import EmbeddingsService
from tokenyard.embeddings.validate import EmbeddingLimits
from tokenyard.monitoring.upstream import InstrumentedRegistry
from tokenyard.providers.registry import can, with_capability
from tokenyard.settings import Settings

log = logging.getLogger(__name__)

# Local embedding models by upstream model name; each factory takes the CPU thread count (0 = default).
LOCAL_MODELS: dict[str, Callable[[int], EmbeddingModel]] = {
    "all-minilm-l6-v2": lambda threads: SentenceModel(dimensions=384, max_tokens=256, threads=threads,
                                                      name="all-minilm-l6-v2"),
}


def local_runners(settings: Settings, catalog: Catalog) -> dict[str, LocalRunner]:
    """A (not yet loaded) runner for every local embedding model the catalog serves."""
    runners: dict[str, LocalRunner] = {}
    for model in catalog.models.values():
        if model.type != "embedding":
            continue
        for t in model.targets:
            if not can(catalog.providers[t.provider].kind, "in_process") or t.upstream_model in runners:
                continue
            factory = LOCAL_MODELS.get(t.upstream_model)
            if factory is None:
                log.warning("model %s names unknown local embedding model %r", model.id, t.upstream_model)
                continue
            runners[t.upstream_model] = LocalRunner(
                t.upstream_model, factory(settings.embeddings_threads),
                max_batch=settings.embeddings_batch_size,
                max_wait=settings.embeddings_batch_wait_ms / 1000.0)
    return runners


def build_embeddings(settings: Settings, catalog: Catalog, router: Router, http: httpx.AsyncClient,
                     env: Mapping[str, str] | None = None) -> EmbeddingsService:
    """The service, with its own Dispatcher whose in-process adapter (the built-in kind) runs the local models (the other adapters
    share the process's pooled HTTP client; all are instrumented like the Router's). With
    `embeddings_preload` the models start loading now."""
    runners = local_runners(settings, catalog)
    if settings.embeddings_preload:
        for runner in runners.values():
            runner.preload()
    limits = EmbeddingLimits(max_inputs=settings.embeddings_max_inputs,
                             max_request_tokens=settings.embeddings_max_request_tokens)
    local = LocalEmbeddingProvider(runners, limits)
    providers = InstrumentedRegistry(catalog, http, env=env, adapters={kind: local for kind in with_capability("in_process")})
    return EmbeddingsService(router, Dispatcher(providers), limits, closers=[local.close])
