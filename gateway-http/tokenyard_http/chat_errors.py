"""Errors of the chat app API (`/api/...`): `{"error", "code", "details"}` with rate-limit details."""
from __future__ import annotations

import re
import time
from typing import Any

import orjson
from starlette.responses import Response

from tokenyard.errors import ErrorKind, GatewayError
from tokenyard_http.error_headers import error_headers

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_SCALE = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> float | None:
    """Seconds in an OpenAI-style duration (`1s`, `6m0s`, `250ms`, `1h2m3.5s`) or a bare number."""
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _SCALE[u] for n, u in parts)


def reset_ms(err: GatewayError, now: float | None = None) -> int:
    """Epoch milliseconds at which a rate limit resets (retry_after, else the limiter's reset, else 60 s)."""
    now = time.time() if now is None else now
    if err.retry_after is not None:
        return int((now + err.retry_after) * 1000)
    for key in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"):
        seconds = parse_duration(err.metadata.get(key, ""))
        if seconds is not None:
            return int((now + seconds) * 1000)
    return int((now + 60) * 1000)


def chat_body(err: GatewayError) -> dict[str, Any]:
    """The chat-app error object; RATE_LIMITED carries details.remaining and details.reset (epoch ms)."""
    body = err.chat_body()
    details: dict[str, Any] = {k: v for k, v in body["details"].items() if not k.startswith("x-")}
    if err.kind is ErrorKind.RATE_LIMITED:
        # The gateway's own refusal says what remains; an upstream's 429 leaves nothing until it resets.
        remaining = err.metadata.get("remaining") or "0"
        details["remaining"] = int(remaining) if remaining.isdigit() else 0
        details["reset"] = reset_ms(err)
        if err.retry_after is not None:
            details["retryAfter"] = err.retry_after
    body["details"] = details
    return body


def chat_error(err: GatewayError) -> Response:
    """A GatewayError as a chat-app JSON response (with Retry-After and rate-limit headers)."""
    body = chat_body(err)
    headers = error_headers(err)
    if err.kind is ErrorKind.RATE_LIMITED:
        headers["x-ratelimit-remaining"] = str(body["details"]["remaining"])
    return Response(orjson.dumps(body), status_code=err.kind.value.http_status, media_type="application/json",
                    headers=headers)


CHAT_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "code": {"type": "string"}, "details": {"type": "object"}},
}


def chat_error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` declaring the chat-app error body for each status."""
    return {s: {"description": "Error", "content": {"application/json": {"schema": CHAT_ERROR_SCHEMA}}}
            for s in statuses}
