"""Model catalog: GET /v1/public/models (no auth, with pricing), /v1/models and /v1/{app_id}/models (OpenAI list),
GET /v1/models/{id} and /v1/{app_id}/models/{id} (ids contain slashes: `local/echo`)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from tokenyard.config.v1 import config_service_pb2 as pb
from tokenyard.errors import ErrorKind, GatewayError

from tokenyard_http.auth import metadata
from tokenyard_http.clients import Clients, clients
from tokenyard_http.errors import error_responses

router = APIRouter(tags=["models"])
CREATED = 1_700_000_000


def openai_model(m: pb.Model) -> dict[str, object]:
    """One catalog model as an OpenAI model object, with whether it can be called now (and why not)."""
    out: dict[str, object] = {"id": m.id, "object": "model", "created": CREATED, "owned_by": m.owned_by,
                              "available": m.available}
    if not m.available:
        out["unavailable_reason"] = m.unavailable_reason
    return out


def public_model(m: pb.Model) -> dict[str, Any]:
    """One catalog model with its type, limits and list prices (USD as decimal strings)."""
    p = m.pricing
    out: dict[str, Any] = {
        "id": m.id, "object": "model", "type": m.type, "provider": m.provider, "owned_by": m.owned_by,
        "context_window": m.context_window or None, "aliases": list(m.aliases), "available": m.available,
        "unavailable_reason": m.unavailable_reason or None,
        "pricing": {"input_per_mtok_usd": p.input_per_mtok_usd, "output_per_mtok_usd": p.output_per_mtok_usd}}
    if m.type == "embedding":
        out["dimensions"] = m.dimensions
    if m.type == "video":
        out["sizes"], out["max_seconds"] = list(m.sizes), m.max_seconds
        out["pricing"] = {**out["pricing"], "per_call_usd": p.per_call_usd, "per_second_usd": p.per_second_usd}
    return out


@router.get("/v1/public/models", summary="Public model catalog with pricing")
async def public_models(type: str = "", c: Clients = Depends(clients)) -> dict[str, Any]:
    """Every catalog model with type, context window, dimensions and prices; no API key needed."""
    resp = await c.config.ListModels(pb.ListModelsRequest(type=type))
    return {"object": "list", "data": [public_model(m) for m in resp.models]}


@router.get("/v1/models", responses=error_responses(401), summary="List models")
async def list_models(request: Request, c: Clients = Depends(clients)) -> dict[str, Any]:
    """The models the caller can use (an app key: its app's allowed models)."""
    resp = await c.config.ListModels(pb.ListModelsRequest(), metadata=metadata(request))
    return {"object": "list", "data": [openai_model(m) for m in resp.models]}


@router.get("/v1/{app_id}/models", responses=error_responses(401, 403, 404), summary="List an app's models")
async def app_models(app_id: str, request: Request, c: Clients = Depends(clients)) -> dict[str, Any]:
    """The models an app may use (its allowedModels; all when the list is empty)."""
    resp = await c.config.ListModels(pb.ListModelsRequest(app_id=app_id), metadata=metadata(request))
    return {"object": "list", "data": [openai_model(m) for m in resp.models]}


def _find(models: Any, model_id: str) -> pb.Model:
    """The listed model named by id or alias, else 404 model_not_found (OpenAI's answer for an unknown id)."""
    for m in models:
        if model_id == m.id or model_id in m.aliases:
            return m
    raise GatewayError(ErrorKind.MODEL_NOT_FOUND, f"The model `{model_id}` does not exist or you do not have "
                       "access to it.", param="model")


@router.get("/v1/models/{model_id:path}", responses=error_responses(401, 404), summary="Retrieve a model")
async def retrieve_model(model_id: str, request: Request, c: Clients = Depends(clients)) -> dict[str, Any]:
    """One model the caller can use (an app key: one of its app's allowed models)."""
    resp = await c.config.ListModels(pb.ListModelsRequest(), metadata=metadata(request))
    return openai_model(_find(resp.models, model_id))


@router.get("/v1/{app_id}/models/{model_id:path}", responses=error_responses(401, 403, 404),
            summary="Retrieve one of an app's models")
async def retrieve_app_model(app_id: str, model_id: str, request: Request, c: Clients = Depends(clients)
                             ) -> dict[str, Any]:
    """One model the app may use."""
    resp = await c.config.ListModels(pb.ListModelsRequest(app_id=app_id), metadata=metadata(request))
    return openai_model(_find(resp.models, model_id))
