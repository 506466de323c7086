"""POST /v1/embeddings and /v1/{app_id}/embeddings over the Embeddings service's gRPC API."""
from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response
from tokenyard.embeddings import convert

from tokenyard_http.auth import metadata
from tokenyard_http.body import json_body, read_json
from tokenyard_http.clients import Clients, clients
from tokenyard_http.errors import error_responses
from tokenyard_http.schemas.embeddings import EmbeddingRequest

router = APIRouter(tags=["embeddings"])
ERRORS = error_responses(400, 401, 402, 403, 404, 413, 429, 502, 503, 504)


@router.post("/v1/embeddings", responses=ERRORS, summary="Create embeddings",
             openapi_extra=json_body(EmbeddingRequest))
async def embeddings(request: Request, c: Clients = Depends(clients)) -> Response:
    """OpenAI-compatible embeddings, in input order."""
    return await handle_embeddings(request, c, app_id="")


@router.post("/v1/{app_id}/embeddings", responses=ERRORS, summary="Create embeddings for an app",
             openapi_extra=json_body(EmbeddingRequest))
async def app_embeddings(app_id: str, request: Request, c: Clients = Depends(clients)) -> Response:
    """The same, with the app's AI config applied."""
    return await handle_embeddings(request, c, app_id=app_id)


async def handle_embeddings(request: Request, c: Clients, app_id: str) -> Response:
    """Run one embeddings request through the Embeddings service."""
    md = metadata(request)
    body = await read_json(request, EmbeddingRequest)
    req = convert.request_to_pb(body.model_dump(exclude_unset=True), app_id=app_id,
                                request_id=request.headers.get("x-request-id", ""))
    call = c.embeddings.Embed(req, metadata=md)
    resp = await call
    initial = await call.initial_metadata()
    headers = {k: v for k, v in (initial or ()) if k.startswith("x-") and isinstance(v, str)}
    payload = convert.response_to_dict(resp, body.encoding_format or "float")
    return Response(orjson.dumps(payload), media_type="application/json", headers=headers)
