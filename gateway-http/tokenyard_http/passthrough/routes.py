"""Passthrough routes (register LAST: they match any `/v1/a/b/c/...` path not claimed by a specific route).

- `/v1/{account_id}/{gateway_id}/compat/chat/completions`: OpenAI format, `model` = `{provider}/{model}`, routed
  through the normal Router (the caller's tokenyard key, the app's config, translation, metering).
- `/v1/{account_id}/{gateway_id}/{provider}/{path}` (and `.../{provider}/model/{model_id}`): forwarded unchanged to
  the provider's base URL with the caller's own provider credentials; usage metered when recognisable. Needs a
  tokenyard key of the account in `tokenyard-authorization` unless the app allows unauthenticated passthrough.

The facade only parses the path and relays bytes: access checks, forwarding and metering run in the Router
(tokenyard.passthrough) behind InferenceService.Forward, whose first message is the upstream's status and headers
and the rest its body bytes, relayed as they come.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response, StreamingResponse

from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.inference.v1 import passthrough_pb2 as pb
from tokenyard.passthrough.access import GATEWAY_HEADER
from tokenyard.passthrough.paths import request_headers, split_path
from tokenyard_http.auth import correlation_id
from tokenyard_http.body import json_body, read_body
from tokenyard_http.clients import Clients, clients
from tokenyard_http.errors import error_responses, rpc_error
from tokenyard_http.routes.chat import handle_chat
from tokenyard_http.schemas.chat import ChatCompletionRequest

router = APIRouter(tags=["passthrough"])
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
ERRORS = error_responses(400, 401, 403, 404, 429, 502, 503, 504)


def bearer(value: str) -> str:
    """The token of an `Authorization`-style header value (`Bearer <token>` or the bare token)."""
    return value[7:].strip() if value[:7].lower() == "bearer " else value.strip()


async def _resolve(c: Clients, account_id: str, gateway_id: str, model: str = "") -> str:
    try:
        resp = await c.inference.ResolveGatewayModel(pb.ResolveGatewayModelRequest(
            account_id=account_id, gateway_id=gateway_id, model=model))
    except grpc.RpcError as exc:
        raise rpc_error(exc) from None
    return resp.model


@router.post("/v1/{account_id}/{gateway_id}/compat/chat/completions", responses=ERRORS,
             summary="OpenAI-format chat for any provider", openapi_extra=json_body(ChatCompletionRequest))
async def compat_chat(account_id: str, gateway_id: str, request: Request, c: Clients = Depends(clients)) -> Response:
    """`model` is `{provider}/{model}`; the call goes through the Router (translation, app config, metering).
    The tokenyard key comes from `tokenyard-authorization` or `Authorization`."""
    await _resolve(c, account_id, gateway_id)
    token = bearer(request.headers.get(GATEWAY_HEADER, "") or request.headers.get("authorization", ""))
    if not token:
        raise GatewayError(ErrorKind.UNAUTHENTICATED, "Send a tokenyard API key as `Authorization: Bearer <key>`")

    async def rename(name: str) -> str:
        return await _resolve(c, account_id, gateway_id, name)

    return await handle_chat(request, c, app_id=gateway_id, md=(("authorization", f"Bearer {token}"),),
                             rename_model=rename)


@router.api_route("/v1/{account_id}/{gateway_id}/{provider}/model/{model_id:path}", methods=METHODS,
                  responses=ERRORS, summary="Forward a model-specific request to a provider")
async def model_passthrough(request: Request, c: Clients = Depends(clients)) -> Response:
    """A model's native endpoint (e.g. `{"prompt", "max_tokens"}` bodies), forwarded unchanged."""
    return await forward(request, c)


@router.api_route("/v1/{account_id}/{gateway_id}/{provider}/{path:path}", methods=METHODS, responses=ERRORS,
                  summary="Forward a request to a provider's own API")
async def passthrough(request: Request, c: Clients = Depends(clients)) -> Response:
    """Method, path, query, body and streams forwarded unchanged, with the caller's own provider credentials."""
    return await forward(request, c)


async def forward(request: Request, c: Clients) -> Response:
    """Parse the path, hand the request to the Router, relay the answer's bytes as they arrive."""
    path = split_path(request.scope.get("raw_path") or request.url.path.encode())
    body = await read_body(request)
    token = bearer(request.headers.get(GATEWAY_HEADER, ""))
    md = (("authorization", f"Bearer {token}"),) if token else ()
    call = c.inference.Forward(pb.ForwardRequest(
        method=request.method, account_id=path.account_id, gateway_id=path.gateway_id, provider=path.provider,
        path=path.rest, query=request.scope.get("query_string", b""), body=body,
        headers=[pb.Header(name=k, value=v) for k, v in request_headers(request.headers.items())],
        request_id=correlation_id(request.headers.get("x-request-id")) or ""), metadata=md)
    try:
        first = await call.read()
    except grpc.RpcError as exc:
        raise rpc_error(exc) from None
    except BaseException:
        call.cancel()
        raise
    if first is grpc.aio.EOF or first.WhichOneof("part") != "head":
        call.cancel()
        raise GatewayError(ErrorKind.PROVIDER_ERROR, "The Router sent no answer for this passthrough request")

    async def relay() -> AsyncIterator[bytes]:
        try:
            while True:
                msg: Any = await call.read()
                if msg is grpc.aio.EOF:
                    return
                yield msg.chunk
        except grpc.RpcError:
            return  # the upstream failed mid-body: end the response (its status is already sent)
        finally:
            call.cancel()

    out = StreamingResponse(relay(), status_code=first.head.status_code)
    out.raw_headers = [(h.name.encode("latin-1"), h.value.encode("latin-1")) for h in first.head.headers]
    return out
