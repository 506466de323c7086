"""Server-Sent Events framing of OpenAI chunks."""
from __future__ import annotations

from typing import Any

import orjson

DONE = b"data: [DONE]\n\n"
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def event(payload: dict[str, Any]) -> bytes:
    """One `data:` event."""
    return data_event(orjson.dumps(payload))


def data_event(payload: bytes) -> bytes:
    """One `data:` event of an already encoded JSON payload."""
    return b"data: " + payload + b"\n\n"
