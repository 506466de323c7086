"""Recorded requests, per-request context, SSE encoding and the fault-aware streaming response."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any, Iterable

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .faults import STREAM_KINDS

if TYPE_CHECKING:
    from .server import FakeServer


@dataclass
class RecordedRequest:
    """One request as received: lowercased headers, raw body and parsed JSON (or None)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any = None
    timestamp: float = field(default_factory=time.time)

    def form(self) -> dict[str, str | bytes]:
        """Parse a multipart/form-data or urlencoded body (file parts stay bytes)."""
        ctype = self.headers.get("content-type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            return dict(urllib.parse.parse_qsl(self.body.decode()))
        if not ctype.startswith("multipart/"):
            return {}
        raw = b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + self.body
        msg = BytesParser(policy=HTTP).parsebytes(raw)
        out: dict[str, str | bytes] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            out[str(name)] = payload if part.get_filename() else payload.decode()
        return out


@dataclass
class RequestCtx:
    """Per-request state shared between the outer ASGI wrapper and handlers."""

    record: RecordedRequest
    transport: asyncio.Transport | None
    disconnected: asyncio.Event


def sse(data: Any, event: str | None = None) -> bytes:
    """Encode one Server-Sent Event (compact JSON unless ``data`` is already a str)."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


class EventStream(Response):
    """Streaming response that applies the server's stream faults chunk by chunk."""

    def __init__(self, server: FakeServer, chunks: Iterable[bytes], media_type: str = "text/event-stream",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(None, 200, {"cache-control": "no-cache", **(headers or {})}, media_type)
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.server = server
        self.chunks = list(chunks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server, ctx = self.server, scope["fake.ctx"]
        fault = server._pop_fault(ctx.record, STREAM_KINDS)
        at = min(fault.after, len(self.chunks)) if fault else -1
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        for i in range(len(self.chunks) + 1):
            if fault is not None and i == at:
                if fault.kind == "cut_stream":
                    await server._close_transport(ctx, abort=False)
                    return
                if fault.kind == "hang_stream":
                    await ctx.disconnected.wait()
                    server._count_disconnect()
                    return
                if fault.kind == "stream_error":
                    await send({"type": "http.response.body", "body": server.stream_error_chunk(fault),
                                "more_body": True})
                    break
            if i == len(self.chunks):
                break
            if fault is not None and fault.kind == "slow_stream" and i > 0:
                if not await server._sleep(fault.seconds, ctx):
                    server._count_disconnect()
                    return
            if ctx.disconnected.is_set():
                server._count_disconnect()
                return
            await send({"type": "http.response.body", "body": self.chunks[i], "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
