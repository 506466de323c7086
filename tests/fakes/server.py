"""Base loopback fake upstream: Starlette under uvicorn in a background thread, with recording and faults."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import socket
import struct
import threading
import time
import urllib.parse
from typing import Any, Awaitable, Callable, Iterable, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from .faults import PRE_RESPONSE_KINDS, Fault
from .recording import EventStream, RecordedRequest, RequestCtx, sse
from .scripting import Reply, ReplyScript, ToolCall

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class FakeServer:
    """Loopback fake upstream; subclasses add provider routes and error formats."""

    provider = "generic"
    health_paths: tuple[str, ...] = ()

    def __init__(self, port: int = 0, host: str = "127.0.0.1", require_api_key: str | None = None) -> None:
        self.host, self.port = host, port
        self.require_api_key = require_api_key
        self.requests: list[RecordedRequest] = []
        self.disconnects = 0
        self._faults: list[list[Any]] = []  # [fault, remaining]
        self._lock = threading.Lock()
        self._script = ReplyScript()
        self._unhealthy_until = 0.0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._startup_error: BaseException | None = None
        self._stopping = False
        routes: list[BaseRoute] = [Route("/health", self._health_endpoint, methods=["GET"]), *self.routes(),
                                   Route("/{path:path}", self._not_found, methods=ALL_METHODS)]
        self.app = Starlette(routes=routes)

    # ----- provider hooks -------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return []

    def error_payload(self, status: int, message: str | None, error_type: str | None) -> dict[str, Any]:
        return {"error": {"code": status, "message": message or "error", "type": error_type}}

    def stream_error_chunk(self, fault: Fault) -> bytes:
        return sse(self.error_payload(fault.status_code, fault.message, fault.error_type))

    def auth_error(self, request: Request) -> Response | None:
        """Return an error response when ``require_api_key`` is set and the request lacks it."""
        return None

    # ----- lifecycle ------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Start serving (idempotent); a restarted server re-binds its previous port."""
        if self._thread is not None:
            return self
        self._startup_error = None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(256)
        self.port = sock.getsockname()[1]
        started = threading.Event()
        self._thread = threading.Thread(target=self._thread_main, args=(sock, started), daemon=True,
                                        name=f"fake-{self.provider}-{self.port}")
        self._thread.start()
        started.wait(10)
        if self._startup_error is not None:
            self._thread = None
            raise RuntimeError(f"fake {self.provider} failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        """Stop serving: close the listener, drop open connections, cancel in-flight handlers."""
        thread, loop, ev = self._thread, self._loop, self._stop_event
        if thread is None:
            return
        if loop is not None and ev is not None and not loop.is_closed():
            loop.call_soon_threadsafe(ev.set)
        thread.join(10)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    def run_forever(self) -> None:
        """Serve in the foreground until Ctrl-C."""
        self.start()
        print(f"fake {self.provider} listening on {self.url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def _thread_main(self, sock: socket.socket, started: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve(sock, started))
        except BaseException as exc:  # pragma: no cover - surfaced through start()
            self._startup_error = exc
        finally:
            started.set()
            loop.close()

    async def _serve(self, sock: socket.socket, started: threading.Event) -> None:
        config = uvicorn.Config(self._asgi, interface="asgi3", lifespan="off", log_level="warning",
                                access_log=False, proxy_headers=False, ws="none", timeout_keep_alive=30)
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        self._loop, self._stop_event = asyncio.get_running_loop(), asyncio.Event()
        try:
            await server.startup(sockets=[sock])
        except BaseException as exc:
            self._startup_error = exc
            sock.close()
            return
        finally:
            started.set()
        await self._stop_event.wait()
        self._stopping = True
        for srv in server.servers:
            srv.close()
        for conn in list(server.server_state.connections):
            transport = getattr(conn, "transport", None)
            if transport is not None:
                transport.close()  # handlers waiting on a disconnect now finish by themselves
        tasks = list(server.server_state.tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=1.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._stopping = False
        sock.close()

    # ----- test-facing API ------------------------------------------------------------
    def reset(self) -> None:
        """Forget requests, faults, scripted replies, disconnects and health state."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()
        self._script.clear()
        self.disconnects = 0
        self._unhealthy_until = 0.0

    def push_fault(self, fault: Fault, times: int | None = None) -> None:
        """Queue a fault (FIFO) for the next ``times`` (default ``fault.times``) matching requests."""
        with self._lock:
            self._faults.append([dataclasses.replace(fault), times if times is not None else fault.times])

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return sum(remaining for _, remaining in self._faults)

    def script_reply(self, text: str | None = None,
                     tool_calls: list[dict[str, Any]] | list[ToolCall] | None = None,
                     finish_reason: str | None = None, usage: dict[str, int] | None = None,
                     times: int = 1) -> None:
        """Queue the next chat reply (FIFO; defaults to ``echo: <last user text>`` when empty).

        ``tool_calls``: ``[{"id"?, "name", "arguments": JSON str or dict}]``; ``finish_reason``:
        OpenAI vocabulary (stop/length/tool_calls, mapped per provider) or a native value;
        ``usage``: ``{"prompt_tokens", "completion_tokens"}`` (native key names accepted too).
        """
        self._script.push(text, tool_calls, finish_reason, usage, times)

    def set_healthy_after(self, seconds: float) -> None:
        """Answer every request with 503 (provider error JSON) for the next ``seconds``."""
        self._unhealthy_until = time.monotonic() + seconds

    def set_healthy(self, healthy: bool = True) -> None:
        self._unhealthy_until = 0.0 if healthy else float("inf")

    @property
    def healthy(self) -> bool:
        return time.monotonic() >= self._unhealthy_until

    @property
    def last_request(self) -> RecordedRequest | None:
        return self.requests[-1] if self.requests else None

    @property
    def last_body(self) -> Any:
        """Parsed JSON body of the most recent request that had one."""
        for rec in reversed(self.requests):
            if rec.json is not None:
                return rec.json
        return None

    def requests_for(self, path_regex: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in list(self.requests)
                if re.search(path_regex, r.path) and (method is None or r.method == method.upper())]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
        """Poll ``predicate`` until true or ``timeout``; returns the final value."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    # ----- helpers for subclasses -----------------------------------------------------
    def route(self, path: str, endpoint: Callable[[Request], Awaitable[Response]],
              methods: list[str]) -> Route:
        """A Starlette route whose endpoint first runs the provider's ``auth_error`` check."""

        async def guarded(request: Request) -> Response:
            denied = self.auth_error(request)
            return denied if denied is not None else await endpoint(request)

        return Route(path, guarded, methods=methods)

    def body_of(self, request: Request) -> Any:
        """Parsed JSON body of this request (None if absent or not JSON)."""
        return request.scope["fake.ctx"].record.json

    def error_response(self, status: int, message: str | None = None, error_type: str | None = None,
                       headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.error_payload(status, message, error_type), status, headers)

    def stream(self, chunks: Iterable[bytes], media_type: str = "text/event-stream",
               headers: dict[str, str] | None = None) -> EventStream:
        return EventStream(self, chunks, media_type, headers)

    def next_reply(self, body: Any, last_user_text: str, max_tokens: int | None) -> Reply:
        return self._script.next_reply(body, last_user_text, max_tokens)

    # ----- internals ------------------------------------------------------------------
    def _is_health(self, rec: RecordedRequest) -> bool:
        return rec.path == "/health" or (rec.method == "GET" and rec.path in self.health_paths)

    def _pop_fault(self, rec: RecordedRequest, kinds: frozenset[str]) -> Fault | None:
        health = self._is_health(rec)
        with self._lock:
            for entry in self._faults:
                fault: Fault = entry[0]
                if fault.kind in kinds and fault.matches(rec.method, rec.path, health, rec.body):
                    entry[1] -= 1
                    if entry[1] <= 0:
                        self._faults.remove(entry)
                    return fault
        return None

    def _count_disconnect(self) -> None:
        if not self._stopping:
            self.disconnects += 1

    async def _sleep(self, seconds: float, ctx: RequestCtx) -> bool:
        """Sleep; False if the client disconnected meanwhile."""
        try:
            await asyncio.wait_for(ctx.disconnected.wait(), seconds)
        except asyncio.TimeoutError:
            return True
        return False

    async def _close_transport(self, ctx: RequestCtx, abort: bool) -> None:
        transport = ctx.transport
        if transport is None:
            raise RuntimeError("fake server cannot reach the connection transport")
        if abort:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()
        try:
            await asyncio.wait_for(ctx.disconnected.wait(), 2)
        except asyncio.TimeoutError:  # pragma: no cover
            pass

    async def _health_endpoint(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def _not_found(self, request: Request) -> Response:
        return self.error_response(404, f"Unknown request URL: {request.method} {request.url.path}")

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunks.append(msg.get("body", b""))
            if not msg.get("more_body"):
                break
        body = b"".join(chunks)
        headers: dict[str, str] = {}
        for k, v in scope["headers"]:
            key, val = k.decode("latin-1").lower(), v.decode("latin-1")
            headers[key] = f"{headers[key]}, {val}" if key in headers else val
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        query = dict(urllib.parse.parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        rec = RecordedRequest(scope["method"], scope["path"], query, headers, body, parsed)
        with self._lock:
            self.requests.append(rec)
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        ctx = RequestCtx(rec, transport, asyncio.Event())
        scope["fake.ctx"] = ctx

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            ctx.disconnected.set()

        body_sent = False

        async def replay() -> Message:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await ctx.disconnected.wait()
            return {"type": "http.disconnect"}

        watcher = asyncio.create_task(watch())
        try:
            await self._dispatch(scope, ctx, replay, send)
        finally:
            watcher.cancel()

    async def _dispatch(self, scope: Scope, ctx: RequestCtx, receive: Receive, send: Send) -> None:
        if not self.healthy:
            resp: Response = self.error_response(503, "The server is temporarily unavailable.")
            return await resp(scope, receive, send)
        fault = self._pop_fault(ctx.record, PRE_RESPONSE_KINDS)
        if fault is not None and fault.kind == "status":
            if fault.body is None:
                resp = self.error_response(fault.status_code, fault.message, fault.error_type, fault.headers)
            elif isinstance(fault.body, (str, bytes)):
                resp = Response(fault.body, fault.status_code, fault.headers, "application/json")
            else:
                resp = JSONResponse(fault.body, fault.status_code, fault.headers)
            return await resp(scope, receive, send)
        if fault is not None and fault.kind == "reset":
            return await self._close_transport(ctx, abort=True)
        if fault is not None and fault.kind == "delay" and not await self._sleep(fault.seconds, ctx):
            self._count_disconnect()
            return
        await self.app(scope, receive, send)
