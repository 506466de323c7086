"""Bounded JSON fetching for HTTP-backed tools: timeouts, size cap, upstream failures as ToolError."""
from __future__ import annotations

from typing import Any

import httpx
import orjson

from tokenyard.chats.tools.base import ToolError

MAX_BODY = 1024 * 1024
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


async def fetch_json(http: httpx.AsyncClient, label: str, method: str, url: str, *,
                     max_body: int = MAX_BODY, **kwargs: Any) -> Any:
    """The JSON body of a 2xx answer (no redirects followed); ToolError naming `label` for anything else."""
    try:
        async with http.stream(method, url, timeout=TIMEOUT, follow_redirects=False, **kwargs) as resp:
            body = bytearray()
            async for piece in resp.aiter_bytes():
                body += piece
                if len(body) > max_body:
                    raise ToolError(f"{label} answered more than {max_body} bytes")
    except httpx.TimeoutException:
        raise ToolError(f"{label} timed out") from None
    except httpx.HTTPError as exc:
        raise ToolError(f"{label} is unreachable ({type(exc).__name__})") from None
    if not 200 <= resp.status_code < 300:
        raise ToolError(f"{label} answered HTTP {resp.status_code}")
    try:
        return orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return bytes(body).decode("utf-8", "replace")
