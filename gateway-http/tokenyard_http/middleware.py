"""Pure-ASGI middleware: request body size cap (413) and HTTP metrics."""
from __future__ import annotations

import time
from typing import Any

import orjson

from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.telemetry import HTTP_REQUESTS, HTTP_SECONDS

Scope = dict[str, Any]


class BodyLimit:
    """Answer 413 in OpenAI shape when a body exceeds its cap (by Content-Length or as it streams in).

    Bodies carrying base64 media (`;base64,` data URIs) may reach `max_media_bytes`; others `max_bytes`.
    """

    def __init__(self, app: Any, max_bytes: int, max_media_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_media_bytes = max(max_media_bytes, max_bytes)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_media_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    return await self._reject(send, self.max_media_bytes, scope)
        seen = 0
        media = False
        tail = b""
        started = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen, media, tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                seen += len(chunk)
                media = media or b";base64," in tail + chunk
                tail = chunk[-8:]
                if seen > self.max_media_bytes or (seen > self.max_bytes and not media):
                    raise _TooLarge(self.max_media_bytes if media else self.max_bytes)
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
