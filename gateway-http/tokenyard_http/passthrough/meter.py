"""Reads usage out of a passthrough response as it streams by (SSE events or one JSON body), without changing it."""
from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import orjson

Merge = Callable[[dict[str, Any], Any], bool]
MAX_BODY = 16 * 1024 * 1024


class UsageMeter:
    """Feed it the raw bytes sent to the client; `result()` is the usage when the response was in the provider's
    known format (its module's `merge_usage` recognised it), else None."""

    def __init__(self, merge: Merge, content_type: str, content_encoding: str = "") -> None:
        self._merge = merge
        self._sse = content_type.split(";")[0].strip().lower() == "text/event-stream"
        encoding = content_encoding.strip().lower()
        self._inflate = (zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding in ("gzip", "x-gzip")
                         else zlib.decompressobj() if encoding == "deflate" else None)
        self._usable = encoding in ("", "identity", "gzip", "x-gzip", "deflate")
        self._buf = bytearray()
        self.acc: dict[str, Any] = {}
        self.known = False

    def feed(self, chunk: bytes) -> None:
        """Look at one chunk of the response body."""
        if not self._usable or not chunk:
            return
        try:
            data = self._inflate.decompress(chunk) if self._inflate is not None else chunk
        except zlib.error:
            self._usable = False
            return
        self._buf += data
        if self._sse:
            self._drain_lines()
        elif len(self._buf) > MAX_BODY:
            self._usable = False
            self._buf.clear()

    def _drain_lines(self) -> None:
        *lines, rest = bytes(self._buf).split(b"\n")
        self._buf = bytearray(rest)
        for line in lines:
            self._event_line(line.rstrip(b"\r"))

    def _event_line(self, line: bytes) -> None:
        if not line.startswith(b"data:"):
            return
        payload = line[5:].strip()
        if not payload or payload == b"[DONE]":
            return
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        self.known = self._merge(self.acc, doc) or self.known

    def result(self) -> dict[str, Any] | None:
        """Usage (`prompt_tokens`, `completion_tokens`, maybe `model`) of a known-format response, else None."""
        if not self._usable:
            return None
        if self._sse:
            if self._buf:
                self._event_line(bytes(self._buf).rstrip(b"\r"))
                self._buf.clear()
        elif self._buf:
            try:
                self.known = self._merge(self.acc, orjson.loads(bytes(self._buf)))
            except orjson.JSONDecodeError:
                return None
        return self.acc if self.known else None
