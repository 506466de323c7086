"""The FastAPI application of the HTTP facade."""
from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tokenyard import __version__
from tokenyard.monitoring import tracing
from tokenyard.settings import Settings
from tokenyard_http import errors
from tokenyard_http.body import install_schemas
from tokenyard_http.clients import Clients
from tokenyard_http.console import router as console
from tokenyard_http.fastpath.asgi import FastPath
from tokenyard_http.middleware import BodyLimit, Metrics
from tokenyard_http.observe import RequestContext, Tracing
from tokenyard_http.passthrough import routes as passthrough
from tokenyard_http.routes import (apps, billing, chat, chat_app, deployments, embeddings, health, keys, models,
                                   usage, videos)

# Fixed paths (/console/..., /v1/apps, /v1/keys, /v1/billing, /v1/videos, /v1/public/models) come before the /v1/{app_id}/...
# routes. The passthrough routes match any /v1/a/b/c/... path: they must stay LAST so specific routes win.
# Chat completions come first: they are the hot path (matching walks the routes in order), and no fixed path
# has the shape /v1/<x>/chat/completions.
ROUTERS = [chat.router, health.router, console, apps.router, keys.router, billing.router, usage.router,
           deployments.router, videos.router, embeddings.router, models.router, chat_app.router, passthrough.router]


def _native_telemetry() -> dict[str, Any]:
    """With tracing off, turn FastAPI's own OpenTelemetry hooks off too: otherwise it looks up the global
    providers (environment reads included) on every request only to find nothing configured."""
    if tracing.enabled() or "telemetry" not in inspect.signature(FastAPI).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}


def create_app(settings: Settings, *, local_inference: Any = None) -> FastAPI:
    """Build the facade; gRPC clients are created at start-up and live on app.state. When the facade shares
    its process with the Router (all-in-one), `local_inference` is the InferenceService servicer, called
    without the gRPC hop (chat and passthrough alike)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.clients = Clients.connect(settings, local_inference)
        try:
            yield
        finally:
            await app.state.clients.close()

    app = FastAPI(title="tokenyard", version=__version__, lifespan=lifespan,
                  description="OpenAI-compatible multi-tenant AI model gateway.", **_native_telemetry())
    errors.install(app)
    for r in ROUTERS:
        app.include_router(r)
    install_schemas(app)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                           allow_headers=["*"])
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       max_media_bytes=settings.max_media_body_bytes)
    app.add_middleware(Metrics)
    if tracing.enabled():
        app.add_middleware(Tracing)
    app.add_middleware(RequestContext)
    if not tracing.enabled() and not settings.cors_origins:  # else the full stack serves them (spans, CORS)
        app.add_middleware(FastPath, max_bytes=settings.max_body_bytes,
                           max_media_bytes=settings.max_media_body_bytes)
    return app
