"""Liveness and Prometheus metrics."""
from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import JSONResponse, Response

router = APIRouter(tags=["ops"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> JSONResponse:
    """200 while the facade serves."""
    return JSONResponse({"status": "ok"})


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    """Metrics of this process (facade and, all-in-one, every service)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
