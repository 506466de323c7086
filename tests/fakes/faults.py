"""Fault descriptions injected into fake upstreams (HTTP errors, delays, resets, broken streams)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PRE_RESPONSE_KINDS = frozenset({"status", "delay", "reset"})
STREAM_KINDS = frozenset({"cut_stream", "slow_stream", "hang_stream", "stream_error"})


@dataclass
class Fault:
    """An injected failure; build with the classmethods (``Fault.status(429, retry_after=2)``).

    ``path`` is a regex searched in the request path; ``None`` matches every non-health request.
    ``match_body`` (optional) is a regex that must also be found in the raw request body (a "poisoned" prompt).
    Pre-response kinds (status/delay/reset) hit the next matching request; stream kinds
    (cut_stream/slow_stream/hang_stream/stream_error) hit the next matching *streaming* response.
    """

    kind: str
    status_code: int = 500
    message: str | None = None
    error_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    seconds: float = 0.0
    after: int = 1
    times: int = 1
    path: str | None = None
    method: str | None = None
    match_body: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in PRE_RESPONSE_KINDS | STREAM_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")

    @classmethod
    def status(cls, status_code: int = 500, message: str | None = None, error_type: str | None = None,
               retry_after: float | None = None, headers: dict[str, str] | None = None,
               body: Any = None, **kw: Any) -> Fault:
        """HTTP error in the provider's error JSON (``body`` overrides it verbatim)."""
        hdrs = dict(headers or {})
        if retry_after is not None:
            hdrs["retry-after"] = f"{retry_after:g}"
        return cls("status", status_code, message, error_type, hdrs, body, **kw)

    @classmethod
    def delay(cls, seconds: float, **kw: Any) -> Fault:
        """Sleep before sending response headers (then respond normally)."""
        return cls("delay", seconds=seconds, **kw)

    @classmethod
    def reset(cls, **kw: Any) -> Fault:
        """Abort the TCP connection (RST) without sending any response."""
        return cls("reset", **kw)

    @classmethod
    def cut_stream(cls, after: int = 2, **kw: Any) -> Fault:
        """Send ``after`` chunks/events, then close the connection mid-body (no terminator)."""
        return cls("cut_stream", after=after, **kw)

    @classmethod
    def slow_stream(cls, seconds: float = 0.05, **kw: Any) -> Fault:
        """Sleep ``seconds`` between consecutive chunks/events."""
        return cls("slow_stream", seconds=seconds, **kw)

    @classmethod
    def hang_stream(cls, after: int = 1, **kw: Any) -> Fault:
        """Send headers + ``after`` chunks, then wait until the client goes away."""
        return cls("hang_stream", after=after, **kw)

    @classmethod
    def stream_error(cls, after: int = 1, status_code: int = 500, message: str | None = None,
                     error_type: str | None = None, **kw: Any) -> Fault:
        """Send ``after`` chunks, then an in-stream error event in the provider's format, then end."""
        return cls("stream_error", status_code, message, error_type, after=after, **kw)

    def matches(self, method: str, path: str, health: bool, body: bytes = b"") -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        if self.match_body is not None and re.search(self.match_body.encode(), body) is None:
            return False
        if self.path is None:
            return not health
        return re.search(self.path, path) is not None
