"""The raw-ASGI fast path: POST chat completions and embeddings (app-less and per app) before FastAPI.

Installed as the outermost middleware of the facade (`app.install_fast_path`), it answers the inference routes
itself and hands every other request to the FastAPI stack unchanged. What the stack did for these routes, it
does too, in one pass: the request id and access-log line (observe.RequestContext), the body caps
(middleware.BodyLimit), the http metrics with the same names and labels (middleware.Metrics), the credential
check (auth.metadata), the error bodies (errors.py). The routes stay declared in FastAPI, so /openapi.json and
any request the fast path does not take (other methods, tracing or CORS on) keep working as before.
"""
from __future__ import annotations

import logging
import time
from typing import Any

import grpc
import orjson

from tokenyard.errors import ErrorKind, GatewayError, invalid
from tokenyard.common.ids import new_request_id
from tokenyard.logs import REQUEST_ID
from tokenyard.common.usage import correlation_id
from tokenyard.monitoring.metrics import HTTP_REQUESTS, HTTP_SECONDS
from tokenyard_http.errors import error_headers, rpc_error
from tokenyard_http.fastpath import routes
from tokenyard_http.observe import log as access_log

Scope = dict[str, Any]
log = logging.getLogger("tokenyard_http.errors")
CHAT, APP_CHAT = "/v1/chat/completions", "/v1/{app_id}/chat/completions"
EMBED, APP_EMBED = "/v1/embeddings", "/v1/{app_id}/embeddings"
NO_KEY = "You didn't provide an API key. Send it as `Authorization: Bearer <key>`."


class Disconnected(Exception):
    """The client left before its body arrived (FastAPI answered an empty 400)."""


class TooLarge(Exception):
    """The body outgrew its cap while streaming in."""


def match(path: str) -> tuple[str, str] | None:
    """(route template, app_id) of a fast route, or None."""
    if path == CHAT:
        return CHAT, ""
    if path == EMBED:
        return EMBED, ""
    if path.startswith("/v1/"):
        if path.endswith("/chat/completions"):
            app_id, template = path[4:-17], APP_CHAT
        elif path.endswith("/embeddings"):
            app_id, template = path[4:-11], APP_EMBED
        else:
            return None
        if app_id and "/" not in app_id:
            return template, app_id
    return None


class Request:
    """What a fast handler needs from the request: headers read once, the body, the outcome for metrics."""

    __slots__ = ("scope", "receive", "send", "settings", "clients", "request_id", "authorization", "api_key",
                 "idempotency_key", "content_length", "status", "started")

    def __init__(self, scope: Scope, receive: Any, send: Any, state: Any) -> None:
        self.scope, self.receive, self.send = scope, receive, send
        self.settings, self.clients = state.settings, state.clients
        self.authorization = self.api_key = self.idempotency_key = self.content_length = None
        given = b""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given = value
            elif name == b"authorization" and self.authorization is None:
                self.authorization = value
            elif name == b"x-api-key" and self.api_key is None:
                self.api_key = value
            elif name == b"idempotency-key" and self.idempotency_key is None:
                self.idempotency_key = value.decode("latin-1")
            elif name == b"content-length" and self.content_length is None:
                self.content_length = value
        self.request_id = correlation_id(given.decode("latin-1")) or new_request_id()
        self.status, self.started = 500, False

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata with the credential and correlation id (auth.metadata); 401 without a key."""
        header = (self.authorization or b"").decode("latin-1")
        if header[:7].lower() == "bearer ":
            token = header[7:].strip()
        else:
            token = (self.api_key or b"").decode("latin-1").strip()
        if not token:
            raise GatewayError(ErrorKind.UNAUTHENTICATED, NO_KEY)
        return (("authorization", f"Bearer {token}"), ("x-request-id", self.request_id))

    async def body(self, limit: int) -> bytes:
        """The whole body, read once (TooLarge past `limit`, Disconnected when the client leaves)."""
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await self.receive()
            if message["type"] != "http.request":
                raise Disconnected
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                raise TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        """Send the response head (with X-Request-Id, as RequestContext added it)."""
        headers.append((b"x-request-id", self.request_id.encode()))
        self.status, self.started = status, True
        await self.send({"type": "http.response.start", "status": status, "headers": headers})

    async def answer(self, status: int, body: bytes, content_type: bytes | None = b"application/json",
                     extra: dict[str, str] | None = None) -> None:
        """A whole response."""
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (extra or {}).items()]
        headers.append((b"content-length", str(len(body)).encode()))
        if content_type is not None:
            headers.append((b"content-type", content_type))
        await self.start(status, headers)
        await self.send({"type": "http.response.body", "body": body})

    async def error(self, err: GatewayError) -> None:
        """A GatewayError in OpenAI shape (errors.openai_error)."""
        await self.answer(err.kind.value.http_status, orjson.dumps(err.openai_body()), extra=error_headers(err))


class FastPath:
    """Outermost ASGI middleware: fast routes answered here, the rest passed to the FastAPI stack."""

    def __init__(self, app: Any, max_bytes: int, max_media_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limit = max(max_media_bytes, max_bytes)  # every fast chat route is a media route
        self.counters: dict[tuple[str, int], Any] = {}
        self.timers = {t: HTTP_SECONDS.labels(t, "POST") for t in (CHAT, APP_CHAT, EMBED, APP_EMBED, "unmatched")}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        hit = match(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if hit is None:
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        req = Request(scope, receive, send, scope["app"].state)
        REQUEST_ID.set(req.request_id)
        route = await self._serve(req, *hit)
        self._record(req, route, start)

    async def _serve(self, req: Request, template: str, app_id: str) -> str:
        """Run the handler; the route label for metrics and the access log."""
        limit = self.limit if template in (CHAT, APP_CHAT) else self.max_bytes
        try:
            if req.content_length is not None and _over(req.content_length, limit):
                await _reject(req, limit)
                return "unmatched"  # BodyLimit answered before any route matched
            md = req.metadata()
            try:
                raw = await req.body(limit)
            except TooLarge:
                if not req.started:
                    await _reject(req, limit)
                return template
            if template in (CHAT, APP_CHAT):
                await routes.chat(req, md, raw, app_id)
            else:
                await routes.embeddings(req, md, raw, app_id)
        except GatewayError as exc:
            await req.error(exc)
        except grpc.RpcError as exc:
            await req.error(rpc_error(exc))
        except Disconnected:
            await req.answer(400, b"", content_type=None)  # errors._gone
        except UnicodeError:
            await req.error(invalid("Request contains text that is not valid Unicode"))
        except Exception as exc:  # noqa: BLE001 - never a stack trace to the client (errors._unexpected)
            if req.started:
                raise
            log.error("unhandled error in the HTTP facade: %s", type(exc).__name__, exc_info=exc)
            await req.error(GatewayError(ErrorKind.INTERNAL, "internal error"))
        return template

    def _record(self, req: Request, route: str, start: float) -> None:
        elapsed = time.perf_counter() - start
        counter = self.counters.get((route, req.status))
        if counter is None:
            counter = self.counters[(route, req.status)] = HTTP_REQUESTS.labels(route, "POST", str(req.status))
        counter.inc()
        self.timers[route].observe(elapsed)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info("%s %s %d", "POST", route, req.status, extra={
                "request_id": req.request_id, "method": "POST", "route": route, "status": req.status,
                "duration_ms": round(elapsed * 1000.0, 2)})


def _over(value: bytes, limit: int) -> bool:
    try:
        return int(value) > limit
    except ValueError:
        return False


async def _reject(req: Request, limit: int) -> None:
    """BodyLimit's 413 (the connection closes: the rest of the body is not read)."""
    err = GatewayError(ErrorKind.PAYLOAD_TOO_LARGE, f"Request body exceeds {limit} bytes")
    body = orjson.dumps(err.openai_body())
    await req.start(413, [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                          (b"connection", b"close")])
    await req.send({"type": "http.response.body", "body": body})
