"""Upstream client comparison: httpx (as providers/transport.py uses it) vs aiohttp, POSTing the bench chat
body to the nginx fake upstream from one uvloop event loop, as the Router's provider pool does.

`python bench/clients.py [--requests 3000]` prints a Markdown table (RPS at c=64, p50 at c=1, CPU ms per
request of this process) and writes bench/results/clients.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
import orjson  # noqa: E402
import uvloop  # noqa: E402

from bench.procs import free_port, stop_all  # noqa: E402
from bench.upstream import Upstream, chat_body  # noqa: E402

Post = Callable[[], Awaitable[Any]]


async def _run(post: Post, n: int, c: int) -> dict[str, float]:
    lat: list[float] = []

    async def worker(k: int) -> None:
        for _ in range(k):
            t = time.perf_counter()
            await post()
            lat.append(time.perf_counter() - t)

    for _ in range(50):
        await post()
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(n // c) for _ in range(c)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"rps": len(lat) / wall, "p50_ms": statistics.median(lat) * 1000, "cpu_ms_per_req": cpu * 1000 / len(lat)}


async def bench(url: str, n: int) -> dict[str, dict[str, float]]:
    """Both clients at c=1 and c=64, twice (the second round counts: first rounds warm caches)."""
    body = chat_body()
    headers = {"authorization": "Bearer sk-upstream-fake", "content-type": "application/json"}
    hx = httpx.AsyncClient(limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200), timeout=30)
    ah = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000), timeout=aiohttp.ClientTimeout(total=30))

    async def httpx_post() -> Any:
        r = await hx.post(url, content=body, headers=headers)
        return orjson.loads(r.content)

    async def aiohttp_post() -> Any:
        async with ah.post(url, data=body, headers=headers) as r:
            return orjson.loads(await r.read())

    out: dict[str, dict[str, float]] = {}
    try:
        for _round in range(2):
            for name, post in (("httpx", httpx_post), ("aiohttp", aiohttp_post)):
                one, many = await _run(post, n // 4, 1), await _run(post, n, 64)
                out[name] = {"c1_p50_ms": one["p50_ms"], "c1_cpu_ms_per_req": one["cpu_ms_per_req"],
                             "c64_rps": many["rps"], "c64_cpu_ms_per_req": many["cpu_ms_per_req"]}
    finally:
        await hx.aclose()
        await ah.close()
    return out


def main() -> int:
    """Start nginx, measure, stop."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--requests", type=int, default=3000)
    args = p.parse_args()
    work = ROOT / "bench" / ".work" / "clients"
    work.mkdir(parents=True, exist_ok=True)
    try:
        up = Upstream(work / "nginx", free_port()).start()
        res = uvloop.run(bench(up.url + "/plain/v1/chat/completions", args.requests))
    finally:
        stop_all()
    (ROOT / "bench" / "results" / "clients.json").write_text(json.dumps(res, indent=2))
    print("| client | RPS c=64 | p50 c=1 ms | CPU ms/req c=1 | CPU ms/req c=64 |\n|---|---|---|---|---|")
    for name, r in res.items():
        print(f"| {name} | {r['c64_rps']:.0f} | {r['c1_p50_ms']:.3f} | {r['c1_cpu_ms_per_req']:.3f} "
              f"| {r['c64_cpu_ms_per_req']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
