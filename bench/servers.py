"""Facade server comparison: the real facade app under uvicorn (uvloop + httptools, `tokenyard serve http`)
and under granian (asgi, uvloop, 1 worker), in front of the same split-mode services and nginx upstream.

`python bench/servers.py [--duration 3]` prints a Markdown table (RPS at c=64, p50 at c=1, facade CPU ms per
request) and writes bench/results/servers.json. Only the facade process's CPU is counted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT, ROOT / "services", ROOT / "gateway-http"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import psutil  # noqa: E402

from bench import load, targets  # noqa: E402
from bench.procs import Proc, free_port, stop_all, wait_port  # noqa: E402
from bench.upstream import Upstream  # noqa: E402


def _cpu(pid: int) -> float:
    p = psutil.Process(pid)
    return sum(sum(q.cpu_times()[:2]) for q in [p, *p.children(recursive=True)])


def measure(t: targets.Target, pid: int, duration: float, work: Path) -> dict[str, float]:
    """c=1 and c=64 non-streaming chat: p50, RPS, facade CPU ms per request."""
    load.run_wrk(t, ["chat"], 8, 2, work)  # warm-up
    out: dict[str, float] = {}
    for c in (1, 64):
        before = _cpu(pid)
        r = load.run_wrk(t, ["chat"], c, duration, work)
        out[f"c{c}_rps"], out[f"c{c}_p50_ms"] = r.rps, r.p50
        out[f"c{c}_cpu_ms_per_req"] = (_cpu(pid) - before) * 1000 / max(1, r.requests)
    return out


def main() -> int:
    """Start, measure both servers, stop everything."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--duration", type=float, default=3.0)
    args = p.parse_args()
    work = ROOT / "bench" / ".work" / f"servers-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}"
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, float]] = {}
    try:
        up = Upstream(work / "nginx", free_port()).start()
        split = targets.tokenyard(up, work / "split", split=True)
        facade = split.procs[-1]
        env = psutil.Process(facade.popen.pid).environ()  # the same service addresses and internal secret
        port = free_port()
        gran = Proc.spawn("granian", [sys.executable, "-m", "granian", "--interface", "asgi", "--loop", "uvloop",
                                      "--workers", "1", "--host", "127.0.0.1", "--port", str(port),
                                      "--log-level", "warning", "--factory", "bench.granian_facade:app"],
                          work / "split", env)
        wait_port(port, 60, gran)
        time.sleep(2)
        other = targets.Target("granian", f"http://127.0.0.1:{port}", split.key, split.routes)
        results["uvicorn + uvloop + httptools"] = measure(split, facade.popen.pid, args.duration, work)
        results["granian (asgi, uvloop)"] = measure(other, gran.popen.pid, args.duration, work)
        results["uvicorn + uvloop + httptools (again)"] = measure(split, facade.popen.pid, args.duration, work)
    finally:
        stop_all()
    (ROOT / "bench" / "results" / "servers.json").write_text(json.dumps(results, indent=2))
    print("| server | RPS c=64 | p50 c=1 ms | facade CPU ms/req c=1 | facade CPU ms/req c=64 |\n|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['c64_rps']:.0f} | {r['c1_p50_ms']:.2f} | {r['c1_cpu_ms_per_req']:.3f} "
              f"| {r['c64_cpu_ms_per_req']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
