"""Reads usage out of a passthrough response as it streams by (SSE events or one JSON body), without changing it.

Compressed bodies are decoded on the side (the client still gets the upstream's bytes): gzip and deflate always,
`br` with the `brotli` package and `zstd` with `zstandard` (both dependencies; a process without them leaves
such responses unmetered rather than failing).
"""
from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import orjson

try:
    import brotli
except ImportError:  # pragma: no cover - a dependency; tolerated when missing
    brotli = None
try:
    import zstandard
except ImportError:  # pragma: no cover - a dependency; tolerated when missing
    zstandard = None

Merge = Callable[[dict[str, Any], Any], bool]
Decode = Callable[[bytes], bytes]
MAX_BODY = 16 * 1024 * 1024


class _Zstd:
    """Incremental zstd decoding across frame boundaries (a body may hold several frames)."""

    def __init__(self) -> None:
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()

    def __call__(self, data: bytes) -> bytes:
        out = bytearray()
        while data:
            out += self._obj.decompress(data)
            if not self._obj.eof:
                break
            data = self._obj.unused_data
            self._obj = self._dctx.decompressobj()
        return bytes(out)


def decoder(content_encoding: str) -> Decode | None:
    """A function decoding successive chunks of a body sent with this `Content-Encoding` (None: not encoded).
    LookupError when this process cannot decode it."""
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress
    if encoding == "deflate":
        return zlib.decompressobj().decompress
    if encoding == "br" and brotli is not None:
        return brotli.Decompressor().process
    if encoding == "zstd" and zstandard is not None:
        return _Zstd()
    raise LookupError(encoding)


class UsageMeter:
    """Feed it the raw bytes sent to the client; `result()` is the usage when the response was in the provider's
    known format (its module's `merge_usage` recognised it), else None."""

    def __init__(self, merge: Merge, content_type: str, content_encoding: str = "") -> None:
        self._merge = merge
        self._sse = content_type.split(";")[0].strip().lower() == "text/event-stream"
        try:
            self._decode, self._usable = decoder(content_encoding), True
        except LookupError:
            self._decode, self._usable = None, False
        self._buf = bytearray()
        self.acc: dict[str, Any] = {}
        self.known = False

    def feed(self, chunk: bytes) -> None:
        """Look at one chunk of the response body."""
        if not self._usable or not chunk:
            return
        try:
            data = self._decode(chunk) if self._decode is not None else chunk
        except Exception:  # noqa: BLE001 - any codec's error: a corrupt body is simply not metered
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
