"""HTTP error responses: GatewayError and validation failures as OpenAI error JSON, never a stack trace."""
from __future__ import annotations

import logging
from typing import Any

import grpc
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from tokenyard.errors import ErrorKind, GatewayError, invalid
from tokenyard.grpcutil import from_rpc_error
from tokenyard_http.chat_errors import chat_error
from tokenyard_http.error_headers import error_headers

log = logging.getLogger(__name__)

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "message": {"type": "string"}, "type": {"type": "string"},
        "param": {"type": ["string", "null"]}, "code": {"type": ["string", "null"]}}}},
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for routes, declaring the OpenAI error body for each status."""
    return {s: {"description": "Error", "content": {"application/json": {"schema": ERROR_SCHEMA}}}
            for s in statuses}


def openai_error(err: GatewayError) -> Response:
    """A GatewayError as an OpenAI-format JSON response."""
    return Response(orjson.dumps(err.openai_body()), status_code=err.kind.value.http_status,
                    media_type="application/json", headers=error_headers(err))


CHAT_API_PREFIX = "/api/"


def error_for(request: Request, err: GatewayError) -> Response:
    """The error in the shape of the API the request addressed (chat app under /api/, else OpenAI)."""
    if request.url.path.startswith(CHAT_API_PREFIX):
        return chat_error(err)
    return openai_error(err)


def rpc_error(exc: grpc.RpcError) -> GatewayError:
    """A failed gRPC call as the GatewayError it carries."""
    return from_rpc_error(exc)


def _param_of(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out += f"[{p}]" if p.isdigit() else f".{p}"
    return out


def validation_error(exc: RequestValidationError) -> GatewayError:
    """The first validation problem, as a 400 naming the parameter."""
    errors = exc.errors()
    if not errors:
        return invalid("invalid request")
    first = errors[0]
    if first.get("type") == "json_invalid":
        return invalid("Request body is not valid JSON")
    param = _param_of(tuple(first.get("loc") or ()))
    if param is None:
        return invalid("Request body must be a JSON object (send Content-Type: application/json)")
    if first.get("type") == "missing":
        return invalid(f"Missing required parameter: '{param}'", param)
    return invalid(f"Invalid value for '{param}': {first.get('msg')}", param)


def install(app: FastAPI) -> None:
    """Register the handlers that keep every error in the documented shape."""

    @app.exception_handler(GatewayError)
    async def _gateway(request: Request, exc: GatewayError) -> Response:
        return error_for(request, exc)

    @app.exception_handler(grpc.RpcError)
    async def _grpc(request: Request, exc: grpc.RpcError) -> Response:
        return error_for(request, rpc_error(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return error_for(request, validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        kinds = {404: ErrorKind.NOT_FOUND, 405: ErrorKind.INVALID_REQUEST, 413: ErrorKind.PAYLOAD_TOO_LARGE,
                 401: ErrorKind.UNAUTHENTICATED, 403: ErrorKind.PERMISSION_DENIED}
        kind = kinds.get(exc.status_code, ErrorKind.INVALID_REQUEST)
        message = "Unknown route" if exc.status_code == 404 else str(exc.detail)
        resp = error_for(request, GatewayError(kind, message))
        resp.status_code = exc.status_code
        return resp

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        return Response(status_code=400)  # the client left (or was cut off) mid-body: nobody to answer

    @app.exception_handler(UnicodeError)
    async def _unicode(request: Request, exc: UnicodeError) -> Response:
        return error_for(request, invalid("Request contains text that is not valid Unicode"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled error in the HTTP facade: %s", type(exc).__name__, exc_info=exc)
        return error_for(request, GatewayError(ErrorKind.INTERNAL, "internal error"))
