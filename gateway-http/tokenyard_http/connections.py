"""HTTP connection deadlines uvicorn lacks: request headers and bodies must arrive in time (slowloris)."""
from __future__ import annotations

import asyncio
import functools
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tokenyard.errors import ErrorKind, GatewayError


def _timeout_response() -> bytes:
    err = GatewayError(ErrorKind.INVALID_REQUEST, "Request body not received in time")
    body = orjson.dumps(err.openai_body())
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with two more deadlines (uvicorn's own keep-alive timer stays as it is).

    - headers: a new connection, or a new request on a kept-alive one, must deliver its complete request
      line and headers within `header_timeout` seconds of its first byte (of the connection, when fresh),
      else the connection is closed;
    - body: the whole request body must arrive within `body_timeout` seconds after the headers, else the
      client gets a 408 (when no response has started) and the connection is closed.
    Responses are never timed: a slow stream to a reading client runs as long as it needs.
    """

    def __init__(self, *args: Any, header_timeout: float, body_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float, expire: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, self._headers_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a request on a kept-alive connection (a fresh one is already timed)
            self._arm(self.header_timeout, self._headers_late)

    def on_headers_complete(self) -> None:
        self._arm(self.body_timeout, self._body_late)  # cancelled at once when there is no body
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _headers_late(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def _body_late(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_started:
            self.transport.write(_timeout_response())  # the application then sees the client gone
        self.transport.close()


def protocol(header_timeout: float, body_timeout: float) -> Any:
    """The protocol factory to give uvicorn as `http=`."""
    return functools.partial(DeadlineProtocol, header_timeout=header_timeout, body_timeout=body_timeout)
