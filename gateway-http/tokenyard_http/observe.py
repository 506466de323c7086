"""Pure-ASGI middleware: request ids and access logs, and (when tracing is on) one SERVER span per request."""
from __future__ import annotations

import logging
import time
from typing import Any

from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode

from tokenyard.common.ids import new_request_id
from tokenyard.common.usage import correlation_id
from tokenyard.logs import REQUEST_ID
from tokenyard.monitoring import tracing
from tokenyard_http.middleware import StatusRecorder

Scope = dict[str, Any]
log = logging.getLogger("tokenyard.access")
QUIET_PATHS = frozenset({"/metrics", "/healthz"})


def _route(scope: Scope) -> str:
    return getattr(scope.get("route"), "path", None) or "unmatched"


class RequestContext:
    """Gives every request a correlation id (the client's `x-request-id` when it is 1-128 printable ASCII
    characters, else a new one), passed on to the routes (and so the gRPC services, which store it on usage
    records as `client_request_id`, never as their id) and echoed in the response; writes one JSON
    access-log line."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = [(k, v) for k, v in scope.get("headers") or () if k != b"x-request-id"]
        given = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")
        rid = correlation_id(given) or new_request_id()
        scope = {**scope, "headers": [*headers, (b"x-request-id", rid.encode())]}
        REQUEST_ID.set(rid)
        start, status = time.perf_counter(), 500

        async def wrapped(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        finally:
            level = logging.DEBUG if scope["path"] in QUIET_PATHS else logging.INFO
            log.log(level, "%s %s %d", scope["method"], _route(scope), status, extra={
                "request_id": rid, "method": scope["method"], "route": _route(scope), "status": status,
                "duration_ms": round((time.perf_counter() - start) * 1000.0, 2)})


class Tracing:
    """A SERVER span per HTTP request, continuing the caller's W3C `traceparent` when it sends one."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in QUIET_PATHS:
            return await self.app(scope, receive, send)
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or ()}
        attrs = {"http.request.method": scope["method"], "url.path": scope["path"]}
        with tracing.span(f"{scope['method']} {scope['path']}", SpanKind.SERVER, propagate.extract(carrier),
                          attrs) as span:
            recorder = StatusRecorder(send)
            try:
                await self.app(scope, receive, recorder)
            finally:
                status = recorder.status
                if span is not None:
                    span.update_name(f"{scope['method']} {_route(scope)}")
                    span.set_attribute("http.route", _route(scope))
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
