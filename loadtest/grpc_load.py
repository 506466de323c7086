"""A ghz-compatible gRPC load tool over grpc.aio: reads the same JSON configs, prints the same figures.

    python loadtest/grpc_load.py loadtest/ghz/inference_chat.json --host 127.0.0.1:50051 --key ty_sk_... \
        [-n TOTAL] [-c CONCURRENCY] [-z DURATION] [--connections N] [--format summary|json]

Run from the repository root (proto paths in the configs are relative to it, as for ghz). The literal
`ty_sk_REPLACE_ME` in data or metadata is replaced by --key (or $TOKENYARD_API_KEY). Message types come from
the generated Python modules of the named .proto, so the tool needs the tokenyard package importable.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import math
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory

PLACEHOLDER = "ty_sk_REPLACE_ME"
PERCENTILES = (10, 25, 50, 75, 90, 95, 99)


def parse_duration(text: str | int | float | None) -> float:
    """Seconds from '10s', '1m', '500ms', '1h' or a number of seconds (0 = none)."""
    if text in (None, "", 0):
        return 0.0
    if isinstance(text, (int, float)):
        return float(text)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not m:
        raise ValueError(f"bad duration {text!r} (use e.g. 500ms, 10s, 2m)")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


@dataclass
class Call:
    """A resolved RPC: path, request message and serializers."""

    path: str
    server_streaming: bool
    request: Any
    response_type: Any


def resolve(config: dict[str, Any], key: str) -> Call:
    """Load the generated module of the config's proto and build the request from `data`."""
    proto = Path(config["proto"])
    if not proto.exists():
        raise SystemExit(f"proto file not found: {proto} (run from the repository root)")
    rel = next((proto.relative_to(p) for p in config.get("import-paths", []) if proto.is_relative_to(p)), proto)
    importlib.import_module(str(rel.with_suffix("")).replace("/", ".") + "_pb2")
    service_name, _, method_name = config["call"].replace("/", ".").rpartition(".")
    service = descriptor_pool.Default().FindServiceByName(service_name)
    method = service.methods_by_name.get(method_name)
    if method is None:
        raise SystemExit(f"{service_name} has no method {method_name}")
    if method.client_streaming:
        raise SystemExit("client-streaming calls are not supported")
    data = config.get("data", {})
    if key:
        data = json.loads(json.dumps(data).replace(PLACEHOLDER, key))
    request = json_format.ParseDict(data, message_factory.GetMessageClass(method.input_type)())
    return Call(f"/{service.full_name}/{method.name}", method.server_streaming, request,
                message_factory.GetMessageClass(method.output_type))


@dataclass
class Results:
    """Latencies of the calls made and their status codes / errors."""

    latencies: list[float] = field(default_factory=list)
    codes: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    elapsed: float = 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, seconds."""
        ordered = sorted(self.latencies)
        return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)] if ordered else 0.0

    def report(self) -> dict[str, Any]:
        """The figures ghz prints, in milliseconds."""
        count = len(self.latencies)
        return {"count": count, "total_ms": self.elapsed * 1000,
                "rps": count / self.elapsed if self.elapsed else 0,
                "fastest_ms": min(self.latencies, default=0) * 1000,
                "slowest_ms": max(self.latencies, default=0) * 1000,
                "average_ms": (sum(self.latencies) / count * 1000) if count else 0,
                "latency_distribution": [{"percentage": p, "latency_ms": self.percentile(p) * 1000}
                                         for p in PERCENTILES],
                "status_code_distribution": dict(self.codes), "error_distribution": dict(self.errors),
                "errors": sum(self.errors.values())}


async def run(call: Call, metadata: list[tuple[str, str]], total: int, concurrency: int, duration: float,
              timeout: float, connections: int, host: str) -> Results:
    """Send `total` calls (or for `duration` seconds) from `concurrency` workers; collect the figures."""
    channels = [grpc.aio.insecure_channel(host) for _ in range(max(connections, 1))]
    stubs = [(ch.unary_stream if call.server_streaming else ch.unary_unary)(
        call.path, request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=call.response_type.FromString) for ch in channels]
    results, started = Results(), 0
    deadline = time.perf_counter() + duration if duration else math.inf

    async def worker(n: int) -> None:
        nonlocal started
        stub = stubs[n % len(stubs)]
        while (duration or started < total) and time.perf_counter() < deadline:
            started += 1
            t0 = time.perf_counter()
            try:
                if call.server_streaming:
                    async for _ in stub(call.request, metadata=metadata, timeout=timeout or None):
                        pass
                else:
                    await stub(call.request, metadata=metadata, timeout=timeout or None)
                results.codes["OK"] += 1
            except grpc.RpcError as exc:
                results.codes[exc.code().name] += 1
                results.errors[f"rpc error: code = {exc.code().name} desc = {exc.details()}"] += 1
            results.latencies.append(time.perf_counter() - t0)

    t_start = time.perf_counter()
    try:
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    finally:
        results.elapsed = time.perf_counter() - t_start
        for ch in channels:
            await ch.close()
    return results


def print_summary(r: dict[str, Any]) -> None:
    """ghz's plain-text summary."""
    print("\nSummary:")
    for label, value in (("Count", f"{r['count']}"), ("Total", f"{r['total_ms']:.2f} ms"),
                         ("Slowest", f"{r['slowest_ms']:.2f} ms"), ("Fastest", f"{r['fastest_ms']:.2f} ms"),
                         ("Average", f"{r['average_ms']:.2f} ms"), ("Requests/sec", f"{r['rps']:.2f}")):
        print(f"  {label}:\t{value}")
    print("\nLatency distribution:")
    for row in r["latency_distribution"]:
        print(f"  {row['percentage']} % in {row['latency_ms']:.2f} ms")
    print("\nStatus code distribution:")
    for code, n in r["status_code_distribution"].items():
        print(f"  [{code}]\t{n} responses")
    if r["error_distribution"]:
        print("\nError distribution:")
        for err, n in r["error_distribution"].items():
            print(f"  [{n}]\t{err}")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments (overriding the config file), run, print."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("config", help="ghz JSON config file")
    ap.add_argument("--host", help="HOST:PORT (default: the config's host)")
    ap.add_argument("--key", default=os.environ.get("TOKENYARD_API_KEY", ""), help=f"replaces {PLACEHOLDER}")
    ap.add_argument("-n", "--total", type=int)
    ap.add_argument("-c", "--concurrency", type=int)
    ap.add_argument("-z", "--duration", help="run for this long instead of --total (e.g. 10s)")
    ap.add_argument("--connections", type=int)
    ap.add_argument("--format", choices=("summary", "json"), default="summary")
    args = ap.parse_args(argv)
    config = json.loads(Path(args.config).read_text())
    total = args.total or int(config.get("total", 200))
    concurrency = min(args.concurrency or int(config.get("concurrency", 50)), total)
    duration = parse_duration(args.duration or config.get("duration"))
    call = resolve(config, args.key)
    metadata = [(k.lower(), v.replace(PLACEHOLDER, args.key) if args.key else v)
                for k, v in (config.get("metadata") or {}).items()]
    results = asyncio.run(run(call, metadata, total, concurrency, duration, parse_duration(config.get("timeout")),
                              args.connections or int(config.get("connections", 1)),
                              args.host or config.get("host", "127.0.0.1:50051")))
    report = results.report()
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print_summary(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
