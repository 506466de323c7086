"""Pure-ASGI middleware: request body size cap (413) and HTTP metrics."""
from __future__ import annotations

import re
import time
from typing import Any

import orjson

from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.monitoring.metrics import HTTP_REQUESTS, HTTP_SECONDS

Scope = dict[str, Any]


MEDIA_ROUTES = re.compile(
    r"/api/chat"                                              # the chat app
    r"|/v1/(?:[^/]+/)?(?:chat/completions|responses|messages)"  # inference, app-less or for an app
    r"|/v1/[^/]+/[^/]+/[^/]+/.+")                             # passthrough (compat chat and provider-native)
"""The routes whose bodies may carry base64 media, the only ones allowed past `max_body_bytes`."""


def media_route(path: str) -> bool:
    """True for an inference route (MEDIA_ROUTES): its body may grow to `max_media_body_bytes` with media."""
    return MEDIA_ROUTES.fullmatch(path) is not None


class BodyLimit:
    """Answer 413 in OpenAI shape when a body exceeds its cap (by Content-Length or as it streams in).

    A media route (MEDIA_ROUTES) may read up to `max_media_bytes`; its parser then checks that the bytes
    beyond `max_bytes` are media parts (`body.check_media_allowance`). Every other route: `max_bytes`.
    """

    def __init__(self, app: Any, max_bytes: int, max_media_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_media_bytes = max(max_media_bytes, max_bytes)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.max_media_bytes if media_route(scope["path"]) else self.max_bytes
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = False
                if too_big:
                    return await self._reject(send, limit, scope)
        seen = 0
        started = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit)
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge as exc:
            if not started:
                await self._reject(send, exc.limit, scope)

    async def _reject(self, send: Any, limit: int, scope: Scope) -> None:
        err = GatewayError(ErrorKind.PAYLOAD_TOO_LARGE, f"Request body exceeds {limit} bytes")
        chat_api = str(scope.get("path", "")).startswith("/api/")
        body = orjson.dumps(err.chat_body() if chat_api else err.openai_body())
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class StatusRecorder:
    """Wraps an ASGI `send`, remembering the response status (500 until a response starts)."""

    def __init__(self, send: Any) -> None:
        self._send = send
        self.status = 500

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self._send(message)


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class Metrics:
    """Counts and times requests by route template (bounded label cardinality)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        recorder = StatusRecorder(send)
        try:
            await self.app(scope, receive, recorder)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            HTTP_REQUESTS.labels(path, scope["method"], str(recorder.status)).inc()
            HTTP_SECONDS.labels(path, scope["method"]).observe(time.perf_counter() - start)
