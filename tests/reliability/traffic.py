"""Concurrent client traffic for the reliability tests, remembering each request id's outcome."""
from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.harness.gateway import Gateway

USER = [{"role": "user", "content": "hello reliability"}]


@dataclass
class Outcome:
    """What a client saw for one request."""

    rid: str
    status: int
    body: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def rid(tag: str = "r") -> str:
    """A fresh request id (all reliability request ids start with `rel_`)."""
    return f"rel_{tag}_{uuid.uuid4().hex[:12]}"


async def send(http: httpx.AsyncClient, path: str, body: dict[str, Any], tag: str = "r") -> Outcome:
    """POST one request (streamed bodies read fully); transport errors become status 0."""
    request_id = rid(tag)
    try:
        async with http.stream("POST", path, json=body, headers={"x-request-id": request_id}) as r:
            text = (await r.aread()).decode(errors="replace")
            return Outcome(request_id, r.status_code, text, dict(r.headers))
    except httpx.HTTPError as exc:
        return Outcome(request_id, 0, repr(exc), {})


def burst(gw: Gateway, key: str, bodies: list[dict[str, Any]], concurrency: int = 32,
          path: str = "/v1/chat/completions", timeout: float = 30.0) -> list[Outcome]:
    """Send every body, `concurrency` at a time, and return the outcomes in order."""
    async def run() -> list[Outcome]:
        gate = asyncio.Semaphore(concurrency)
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=gw.url, timeout=timeout, limits=limits,
                                     headers={"authorization": f"Bearer {key}"}) as http:
            async def one(body: dict[str, Any]) -> Outcome:
                async with gate:
                    return await send(http, path, body)
            return list(await asyncio.gather(*(one(b) for b in bodies)))
    return asyncio.run(run())


def sse_events(body: str) -> list[str]:
    """The `data:` payloads of an SSE body."""
    return [line[6:] for line in body.splitlines() if line.startswith("data: ")]


def assert_clean_error(o: Outcome, status: int, code: str) -> None:
    """An OpenAI-shaped error with the documented status and code, and no stack trace."""
    assert o.status == status, (o.status, o.body[:300])
    err = o.json()["error"]
    assert err["code"] == code, err
    assert "Traceback" not in o.body and 'File "' not in o.body
