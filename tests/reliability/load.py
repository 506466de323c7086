"""A mixed closed-loop workload: N concurrent clients doing plain and streaming chat (local and a fake
upstream), embeddings on a fake upstream and usage reads; every outcome is kept for the assertions."""
from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.harness.gateway import Gateway
from tests.reliability.traffic import rid, sse_events

# (name, method, path, body) — every client cycles through these, starting at a different offset.
MIX: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("chat-local", "POST", "/v1/chat/completions", {"model": "local/echo", "messages": [
        {"role": "user", "content": "plain local chat"}]}),
    ("stream-local", "POST", "/v1/chat/completions", {"model": "local/echo", "stream": True, "messages": [
        {"role": "user", "content": "streamed local chat with a few more words in it"}]}),
    ("chat-upstream", "POST", "/v1/chat/completions", {"model": "rel/main", "messages": [
        {"role": "user", "content": "plain upstream chat"}]}),
    ("stream-upstream", "POST", "/v1/chat/completions", {"model": "rel/main", "stream": True, "messages": [
        {"role": "user", "content": "streamed upstream chat with a few more words"}]}),
    ("embed-upstream", "POST", "/v1/embeddings", {"model": "rel/embed", "input": ["alpha", "beta gamma"]}),
    ("chat-local", "POST", "/v1/chat/completions", {"model": "local/echo", "messages": [
        {"role": "user", "content": "another plain local chat"}]}),
    ("stream-upstream", "POST", "/v1/chat/completions", {"model": "rel/main", "stream": True, "messages": [
        {"role": "user", "content": "one more stream"}]}),
    ("usage-read", "GET", "/api/usage/remaining", None),
]
METERED = {"chat-local", "stream-local", "chat-upstream", "stream-upstream", "embed-upstream"}


@dataclass
class LoadReport:
    """Outcomes of a run: per request id its kind and status, and the failures in detail."""

    outcomes: dict[str, tuple[str, int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def ok_metered(self) -> set[str]:
        return {r for r, (kind, status) in self.outcomes.items() if status == 200 and kind in METERED}

    def by_kind(self) -> Counter[str]:
        return Counter(kind for kind, _ in self.outcomes.values())


def _check(kind: str, status: int, text: str) -> str | None:
    """Why a response is a failure (None when it is a good answer)."""
    if status != 200:
        return f"{kind}: HTTP {status} {text[:200]}"
    if kind.startswith("stream"):
        events = sse_events(text)
        if not events or events[-1] != "[DONE]" or any('"error"' in e for e in events):
            return f"{kind}: broken stream {text[-200:]}"
    elif kind == "embed-upstream" and len(json.loads(text)["data"]) != 2:
        return f"{kind}: wrong embeddings"
    return None


async def _client(http: httpx.AsyncClient, n: int, until: float, report: LoadReport) -> None:
    i = n
    while time.monotonic() < until:
        kind, method, path, body = MIX[i % len(MIX)]
        i += 1
        request_id = rid(f"load{n}")
        try:
            async with http.stream(method, path, json=body, headers={"x-request-id": request_id}) as r:
                text = (await r.aread()).decode(errors="replace")
                status = r.status_code
        except httpx.HTTPError as exc:
            status, text = 0, repr(exc)
        report.outcomes[request_id] = (kind, status)
        if (why := _check(kind, status, text)) is not None:
            report.failures.append(why)


def run_load(gw: Gateway, key: str, seconds: float, clients: int = 64,
             report: LoadReport | None = None) -> LoadReport:
    """`clients` concurrent connections, each issuing the mix back to back for `seconds`."""
    report = report or LoadReport()

    async def main() -> None:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=gw.url, timeout=60, limits=limits,
                                     headers={"authorization": f"Bearer {key}"}) as http:
            until = time.monotonic() + seconds
            await asyncio.gather(*(_client(http, n, until, report) for n in range(clients)))

    asyncio.run(main())
    return report


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its descendants (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total
