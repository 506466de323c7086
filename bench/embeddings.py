"""Embeddings benchmark: local-model throughput at batch sizes 1/8/64, gateway overhead over an upstream.

Run from the repository root:  python bench/embeddings.py  [--seconds 3] [--requests 200] [--out FILE]
It starts a fake OpenAI-compatible upstream (`python -m tests.fakes openai --port N`) and an all-in-one
gateway, prints a table and writes the numbers as JSON (default bench/.work/embeddings.json).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "services"), str(ROOT / "gateway-http")]

import httpx

from tests.harness.gateway import Gateway, free_port

LOCAL = "local/all-minilm-l6-v2"
UPSTREAM = "bench/text-embedding-3-small"
SENTENCE = "The quick brown fox jumps over the lazy dog while the cat watches from the window, number {i}."


def texts(n: int, offset: int = 0) -> list[str]:
    return [SENTENCE.format(i=offset + i) for i in range(n)]


def start_upstream(port: int) -> subprocess.Popen:
    """The fake OpenAI upstream in its own process (as a real upstream would be)."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes", "openai", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path[:3])})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("fake upstream did not start")


def start_gateway(workdir: Path, upstream_url: str) -> Gateway:
    config = {"providers": {"benchup": {"kind": "openai", "base_url": f"{upstream_url}/v1",
                                        "api_key_env": "BENCH_UPSTREAM_KEY", "max_retries": 0}},
              "models": [{"id": UPSTREAM, "type": "embedding", "provider": "benchup",
                          "upstream_model": "text-embedding-3-small", "dimensions": 1536}]}
    env = {"BENCH_UPSTREAM_KEY": "sk-bench", "TOKENYARD_EMBEDDINGS_PRELOAD": "true",
           "TOKENYARD_LOG_LEVEL": "warning",
           "PYTHONPATH": os.pathsep.join(sys.path[:3])}
    return Gateway(workdir=workdir, config=config, env=env).start()


def throughput(http: httpx.Client, batch: int, seconds: float, clients: int = 1) -> dict[str, Any]:
    """Embeddings/second for requests of `batch` inputs, sent by `clients` concurrent clients."""
    def one(i: int) -> int:
        resp = http.post("/v1/embeddings", json={"model": LOCAL, "input": texts(batch, i * batch)})
        resp.raise_for_status()
        return batch

    one(0)  # warm up (the model is preloaded, this warms the code paths)
    done, requests, started = 0, 0, time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        while time.perf_counter() - started < seconds:
            done += sum(pool.map(one, range(requests, requests + clients)))
            requests += clients
    elapsed = time.perf_counter() - started
    return {"batch": batch, "clients": clients, "requests": requests, "inputs": done,
            "embeddings_per_s": round(done / elapsed, 1),
            "ms_per_request": round(elapsed * 1000 / requests * clients, 2)}


def model_throughput(batch: int, seconds: float) -> dict[str, Any]:
    """The bare model in this process (no gateway), for comparison."""
    from tokenyard.embeddings.model import SentenceModel

    model = getattr(model_throughput, "model", None) or SentenceModel()
    model_throughput.model = model  # type: ignore[attr-defined]
    model.encode(texts(batch))
    done, calls, started = 0, 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        done += len(model.encode(texts(batch, calls * batch)))
        calls += 1
    elapsed = time.perf_counter() - started
    return {"batch": batch, "inputs": done, "embeddings_per_s": round(done / elapsed, 1)}


def latencies(http: httpx.Client, path: str, model: str, inputs: int, n: int) -> dict[str, float]:
    samples = []
    for i in range(n + 5):
        started = time.perf_counter()
        resp = http.post(path, json={"model": model, "input": texts(inputs, i), "encoding_format": "float"})
        resp.raise_for_status()
        if i >= 5:  # the first few warm connections and caches
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 3),
            "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 3),
            "mean_ms": round(statistics.fmean(samples), 3)}


def overhead(gw: Gateway, upstream_url: str, n: int) -> list[dict[str, Any]]:
    """Per-request latency calling the upstream directly vs through the gateway, same payloads."""
    rows = []
    headers = {"Authorization": "Bearer sk-bench"}
    with httpx.Client(base_url=upstream_url, headers=headers, timeout=60) as direct, gw.http() as via:
        for inputs in (1, 16):
            d = latencies(direct, "/v1/embeddings", "text-embedding-3-small", inputs, n)
            g = latencies(via, "/v1/embeddings", UPSTREAM, inputs, n)
            rows.append({"inputs": inputs, "direct": d, "gateway": g,
                         "overhead_p50_ms": round(g["p50_ms"] - d["p50_ms"], 3),
                         "overhead_p95_ms": round(g["p95_ms"] - d["p95_ms"], 3)})
    return rows


def print_tables(result: dict[str, Any]) -> None:
    print("\nLocal model (all-MiniLM-L6-v2, CPU) — embeddings/second")
    print(f"{'batch':>6} {'clients':>8} {'via gateway':>12} {'ms/request':>11} {'bare model':>11}")
    bare = {r["batch"]: r["embeddings_per_s"] for r in result["local_model_bare"]}
    for r in result["local_via_gateway"]:
        bare_cell = f"{bare[r['batch']]:>11}" if r["clients"] == 1 and r["batch"] in bare else f"{'':>11}"
        print(f"{r['batch']:>6} {r['clients']:>8} {r['embeddings_per_s']:>12} {r['ms_per_request']:>11} "
              f"{bare_cell}")
    print("\nGateway overhead vs calling the OpenAI-compatible upstream directly (ms per request)")
    print(f"{'inputs':>6} {'direct p50':>11} {'gateway p50':>12} {'overhead p50':>13} {'overhead p95':>13}")
    for r in result["upstream_overhead"]:
        print(f"{r['inputs']:>6} {r['direct']['p50_ms']:>11} {r['gateway']['p50_ms']:>12} "
              f"{r['overhead_p50_ms']:>13} {r['overhead_p95_ms']:>13}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per throughput cell")
    parser.add_argument("--requests", type=int, default=200, help="requests per latency measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / ".work" / "embeddings.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    (ROOT / "bench" / ".work").mkdir(parents=True, exist_ok=True)
    port = free_port()
    upstream = start_upstream(port)
    upstream_url = f"http://127.0.0.1:{port}"
    gw = start_gateway(Path(tempfile.mkdtemp(prefix="gw-", dir=ROOT / "bench" / ".work")), upstream_url)
    try:
        with gw.http() as http:
            http.timeout = httpx.Timeout(120)
            via = [throughput(http, b, args.seconds) for b in (1, 8, 64)]
            via.append(throughput(http, 1, args.seconds, clients=16))
        over = overhead(gw, upstream_url, args.requests)
    finally:
        gw.stop()
        upstream.terminate()
        upstream.wait(10)
    bare = [model_throughput(b, args.seconds) for b in (1, 8, 64)]
    result = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpu_count": os.cpu_count(),
              "python": platform.python_version(), "machine": platform.machine(),
              "load_average": [round(x, 2) for x in os.getloadavg()],
              "local_via_gateway": via, "local_model_bare": bare, "upstream_overhead": over}
    print_tables(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
