"""Passthrough routes (register LAST: they match any `/v1/a/b/c/...` path not claimed by a specific route).

- `/v1/{account_id}/{gateway_id}/compat/chat/completions`: OpenAI format, `model` = `{provider}/{model}`, routed
  through the normal Router (the caller's tokenyard key, the app's config, translation, metering).
- `/v1/{account_id}/{gateway_id}/{provider}/{path}` (and `.../{provider}/model/{model_id}`): forwarded unchanged to
  the provider's base URL with the caller's own provider credentials; usage metered when recognisable. Needs a
  tokenyard key of the account in `tokenyard-authorization` unless the app allows unauthenticated passthrough.
"""
from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import httpx
import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response, StreamingResponse
from tokenyard.catalog import Catalog
from tokenyard.common.ids import new_request_id
from tokenyard.common.usage import UsageEvent
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.providers.registry import provider_module
from tokenyard.providers.transport import timeout_of, transport_error
from tokenyard.storage.types import utcnow

from tokenyard_http.body import json_body, read_body
from tokenyard_http.clients import Clients, clients
from tokenyard_http.errors import error_responses
from tokenyard_http.passthrough.access import GATEWAY_HEADER, authorize, bearer
from tokenyard_http.passthrough.meter import UsageMeter
from tokenyard_http.passthrough.paths import (
    ProxyPath,
    request_headers,
    response_headers,
    split_path,
    upstream_url,
)
from tokenyard_http.passthrough.state import Passthrough
from tokenyard_http.routes.chat import handle_chat
from tokenyard_http.schemas.chat import ChatCompletionRequest

router = APIRouter(tags=["passthrough"])
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
ERRORS = error_responses(400, 401, 403, 404, 429, 502, 503, 504)


def compat_model(catalog: Catalog, name: str) -> str:
    """`{provider}/{model}` (or a catalog id/alias) -> the catalog model id the Router knows."""
    spec = catalog.resolve(name)
    if spec is not None:
        return spec.id
    provider, _, upstream = name.partition("/")
    for m in catalog.models.values():
        if m.type == "chat" and any(t.provider == provider and t.upstream_model == upstream for t in m.targets):
            return m.id
    raise GatewayError(ErrorKind.MODEL_NOT_FOUND, f"The model `{name}` does not exist (use `provider/model`)",
                       param="model")


@router.post("/v1/{account_id}/{gateway_id}/compat/chat/completions", responses=ERRORS,
             summary="OpenAI-format chat for any provider", openapi_extra=json_body(ChatCompletionRequest))
async def compat_chat(account_id: str, gateway_id: str, request: Request, c: Clients = Depends(clients)) -> Response:
    """`model` is `{provider}/{model}`; the call goes through the Router (translation, app config, metering).
    The tokenyard key comes from `tokenyard-authorization` or `Authorization`."""
    state: Passthrough = request.app.state.passthrough
    await state.gateway(account_id, gateway_id)
    token = bearer(request.headers.get(GATEWAY_HEADER, "") or request.headers.get("authorization", ""))
    if not token:
        raise GatewayError(ErrorKind.UNAUTHENTICATED, "Send a tokenyard API key as `Authorization: Bearer <key>`")
    return await handle_chat(request, c, app_id=gateway_id, md=(("authorization", f"Bearer {token}"),),
                             rename_model=lambda name: compat_model(state.catalog, name))


@router.api_route("/v1/{account_id}/{gateway_id}/{provider}/model/{model_id:path}", methods=METHODS,
                  responses=ERRORS, summary="Forward a model-specific request to a provider")
async def model_passthrough(request: Request) -> Response:
    """A model's native endpoint (e.g. `{"prompt", "max_tokens"}` bodies), forwarded unchanged."""
    return await forward(request)


@router.api_route("/v1/{account_id}/{gateway_id}/{provider}/{path:path}", methods=METHODS, responses=ERRORS,
                  summary="Forward a request to a provider's own API")
async def passthrough(request: Request) -> Response:
    """Method, path, query, body and streams forwarded unchanged, with the caller's own provider credentials."""
    return await forward(request)


def _request_model(path: ProxyPath, body: bytes) -> str:
    rest = path.rest.split("?")[0]
    if rest.startswith("model/"):
        return unquote(rest[6:])
    if "models/" in rest:  # gemini: .../models/{model}:generateContent
        return unquote(rest.split("models/", 1)[1].split(":")[0])
    try:
        doc = orjson.loads(body) if body[:1] == b"{" else None
    except orjson.JSONDecodeError:
        doc = None
    return str(doc.get("model") or "") if isinstance(doc, dict) else ""


async def forward(request: Request) -> Response:
    """Check the gateway and path, send the request upstream, stream the answer back byte for byte."""
    state: Passthrough = request.app.state.passthrough
    path = split_path(request.scope.get("raw_path") or request.url.path.encode())
    spec = state.provider(path.provider)
    snap, principal = await authorize(request, state, path.account_id, path.gateway_id)
    url = upstream_url(spec.base_url, path.rest, request.scope.get("query_string", b""))
    body = await read_body(request)
    started = time.perf_counter()
    req = state.http.build_request(request.method, url, headers=request_headers(request.headers.items()),
                                   content=body or None, timeout=timeout_of(spec))
    try:
        resp = await state.http.send(req, stream=True)
    except httpx.TransportError as exc:
        raise transport_error(exc, path.provider) from None
    meter = UsageMeter(provider_module(spec.kind).merge_usage, resp.headers.get("content-type", ""),
                       resp.headers.get("content-encoding", ""))
    event: dict[str, Any] = {"request_id": new_request_id(), "account_id": snap.app.owner, "app_id": snap.app.id,
                             "key_id": principal.key_id if principal else "", "target": path.provider,
                             "model": _request_model(path, body), "status": "ok" if resp.status_code < 400 else "error"}

    async def stream() -> AsyncIterator[bytes]:
        first: float | None = None
        try:
            async for chunk in resp.aiter_raw():
                first = first or time.perf_counter()
                meter.feed(chunk)
                yield chunk
        except httpx.TransportError:
            event["status"] = "error"
        except BaseException:
            event["status"] = "cancelled"
            raise
        finally:
            await resp.aclose()
            _record(state, meter, event, started, first)

    out = StreamingResponse(stream(), status_code=resp.status_code)
    out.raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response_headers(resp.headers.multi_items())]
    return out


def _record(state: Passthrough, meter: UsageMeter, event: dict[str, Any], started: float, first: float | None) -> None:
    """One usage event, kind `passthrough`, when the response was in a known format."""
    usage = meter.result()
    if usage is None:
        return
    model = event.pop("model") or str(usage.get("model") or "unknown")
    state.sink.submit(UsageEvent(
        **event, time=utcnow(), kind="passthrough", model=f"{event['target']}/{model}",
        prompt_tokens=int(usage.get("prompt_tokens") or 0), completion_tokens=int(usage.get("completion_tokens") or 0),
        latency_ms=(time.perf_counter() - started) * 1000.0, ttft_ms=((first - started) * 1000.0) if first else 0.0))
