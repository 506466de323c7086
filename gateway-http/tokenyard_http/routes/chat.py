"""POST /v1/chat/completions and /v1/{app_id}/chat/completions: JSON or SSE over the Router's gRPC API."""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response, StreamingResponse

from tokenyard.common.idempotency import REPLAYED, check_key
from tokenyard.errors import GatewayError, invalid
from tokenyard.inference import convert
from tokenyard.inference.v1 import inference_service_pb2 as pb
from tokenyard.monitoring.metrics import ACTIVE_STREAMS
from tokenyard.protocol.openai_chat import decode_chat_request, encode_chunk, encode_completion
from tokenyard_http.auth import metadata
from tokenyard_http.body import json_body, read_media_body
from tokenyard_http.clients import Clients, clients
from tokenyard_http.errors import error_responses, openai_error, rpc_error
from tokenyard_http.schemas.chat import ChatCompletionRequest
from tokenyard_http.sse import DONE, SSE_HEADERS, data_event, event

router = APIRouter(tags=["chat"])
ERRORS = error_responses(400, 401, 402, 403, 404, 409, 413, 429, 502, 503, 504)
IDEMPOTENCY_HEADER = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {
    "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
    "description": "Retries with the same key and body (same account, non-streaming) replay the first answer "
                   "without running or charging it again; kept 24 hours."}
BODY = {**json_body(ChatCompletionRequest), "parameters": [IDEMPOTENCY_HEADER]}


def response_headers(md: Any) -> dict[str, str]:
    """The Router's initial metadata that the client sees as headers (x-*, the replay marker)."""
    return {k: v for k, v in (md or ()) if (k.startswith("x-") or k == REPLAYED) and isinstance(v, str)}


def idempotency_key(header: str | None, stream: bool) -> str:
    """The checked Idempotency-Key header ("" without one); a 400 on a streaming request."""
    if header is None:
        return ""
    if stream:
        raise invalid("Idempotency-Key is supported for non-streaming requests only; send it without "
                      "`stream: true`, or retry streams without it", "Idempotency-Key")
    return check_key(header)


@router.post("/v1/chat/completions", responses=ERRORS, summary="Create a chat completion", openapi_extra=BODY)
async def chat_completions(request: Request, c: Clients = Depends(clients)) -> Response:
    """OpenAI-compatible chat completions on the app-less route (needs the ai:gateway scope)."""
    return await handle_chat(request, c, app_id="")


@router.post("/v1/{app_id}/chat/completions", responses=ERRORS, summary="Create a chat completion for an app",
             openapi_extra=BODY)
async def app_chat_completions(app_id: str, request: Request, c: Clients = Depends(clients)) -> Response:
    """The same, with the app's AI config applied."""
    return await handle_chat(request, c, app_id=app_id)


async def handle_chat(request: Request, c: Clients, app_id: str, *, md: Any = None,
                      rename_model: Callable[[str], Awaitable[str]] | None = None) -> Response:
    """Run one chat request through the Router (`md`: the credential metadata when not `Authorization`;
    `rename_model`: maps the body's model name first (async), e.g. the passthrough compat route's `provider/model`)."""
    md = md if md is not None else metadata(request)
    body = decode_chat_request(await read_media_body(request))  # one parse; the pydantic schema is for OpenAPI
    if rename_model is not None and isinstance(body.model, str):
        body.model = await rename_model(body.model)
    payload = convert.request_to_pb(body)
    rid = request.headers.get("x-request-id", "")
    key = idempotency_key(request.headers.get("idempotency-key"), payload.stream)
    if payload.stream:
        return await _stream(c, pb.StreamChatRequest(request=payload, app_id=app_id, request_id=rid), md)
    call = c.inference.Chat(pb.ChatRequest(request=payload, app_id=app_id, request_id=rid, idempotency_key=key),
                            metadata=md)
    try:
        resp = await call
        headers = response_headers(await call.initial_metadata())
    except grpc.RpcError as exc:
        return openai_error(rpc_error(exc))
    return Response(encode_completion(convert.completion_from_pb(resp.completion)), media_type="application/json",
                    headers=headers)


async def _stream(c: Clients, req: pb.StreamChatRequest, md: Any) -> Response:
    """Errors before the first chunk are plain HTTP errors; after it, one SSE error event and a clean end."""
    call = c.inference.StreamChat(req, metadata=md)
    try:
        first = await call.read()
        headers = response_headers(await call.initial_metadata())
    except grpc.RpcError as exc:
        return openai_error(rpc_error(exc))
    except BaseException:
        call.cancel()
        raise

    async def body() -> AsyncIterator[bytes]:
        gauge = ACTIVE_STREAMS.labels("/v1/chat/completions")
        gauge.inc()
        try:
            msg = first
            while msg is not grpc.aio.EOF:
                yield data_event(encode_chunk(convert.chunk_from_pb(msg.chunk)))
                msg = await call.read()
            yield DONE
        except grpc.RpcError as exc:
            err: GatewayError = rpc_error(exc)
            yield event(err.openai_body())
            yield DONE
        finally:
            gauge.dec()
            call.cancel()

    return StreamingResponse(body(), media_type="text/event-stream", headers={**SSE_HEADERS, **headers})
