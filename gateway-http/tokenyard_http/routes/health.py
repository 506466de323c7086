"""Liveness and Prometheus metrics."""
from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import JSONResponse, Response
from tokenyard.monitoring.exporter import scrape_allowed

router = APIRouter(tags=["ops"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> JSONResponse:
    """200 while the facade serves."""
    return JSONResponse({"status": "ok"})


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Metrics of this process (facade and, all-in-one, every service); behind TOKENYARD_METRICS_TOKEN if set."""
    if not scrape_allowed(request.app.state.settings.metrics_token, request.headers.get("authorization", "")):
        return JSONResponse({"error": {"message": "/metrics needs the metrics bearer token",
                                       "type": "authentication_error", "code": "invalid_api_key"}}, 401,
                            headers={"WWW-Authenticate": "Bearer"})
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

