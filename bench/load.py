"""Load generation: wrk with a generated Lua POST script, and a concurrency-1 time-to-first-chunk client."""
from __future__ import annotations

import json
import shutil
import socket
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import h11

from bench.targets import Target

MESSAGES = [{"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": "Say hello to the benchmark in twenty words."}]

LUA = """
local reqs = {{}}
function init(args)
  -- built here, not at load time: wrk sets the Host header only once the script is loaded
  reqs = {{ {requests} }}
end
local max_per_thread = {max_per_thread}
local n, seen = 0, 0
function request()
  n = n + 1
  return reqs[(n - 1) % #reqs + 1]
end
{response}
function done(summary, latency, requests)
  local e = summary.errors
  local p = {{}}
  for _, q in ipairs({{50, 75, 90, 99, 99.9}}) do p[#p + 1] = string.format('"%s":%d', q, latency:percentile(q)) end
  io.write(string.format('BENCHJSON {{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"mean_us":%f,"max_us":%d,"percentiles_us":{{%s}}}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, table.concat(p, ",")))
end
"""
RESPONSE_STOP = """
function response(status, headers, body)
  seen = seen + 1
  if max_per_thread > 0 and seen >= max_per_thread then wrk.thread:stop() end
end
"""


AGENT_KINDS = ("responses", "responses_stream", "messages", "messages_stream")
"""The agent-API routes (OpenAI Responses, Anthropic Messages), plain and streamed, on the same upstream."""


def body_for(target: Target, kind: str) -> tuple[str, bytes]:
    """(path, JSON body) of one request of `kind` (chat, stream, embed or an AGENT_KINDS one) to `target`."""
    path, model = target.routes[kind]
    if kind == "embed":
        return path, json.dumps({"model": model, "input": "the quick brown fox"}).encode()
    streamed = kind.endswith("stream")
    if kind.startswith("responses"):
        body: dict = {"model": model, "instructions": MESSAGES[0]["content"], "input": MESSAGES[1]["content"],
                      "max_output_tokens": 64}
    elif kind.startswith("messages"):
        body = {"model": model, "system": MESSAGES[0]["content"], "max_tokens": 64,
                "messages": [{"role": "user", "content": MESSAGES[1]["content"]}]}
    else:
        body = {"model": model, "messages": MESSAGES, "max_tokens": 64}
    if streamed:
        body["stream"] = True
    return path, json.dumps(body).encode()


def headers_for(target: Target, kind: str) -> dict[str, str]:
    """The target's headers, plus `anthropic-version` on the Messages route (as the anthropic SDK sends)."""
    h = target.headers()
    if kind.startswith("messages"):
        h["anthropic-version"] = "2023-06-01"
    return h


def _lua_string(s: str) -> str:
    return "[==[" + s + "]==]"


def lua_script(target: Target, kinds: list[str], max_per_thread: int = 0) -> str:
    """A wrk script cycling through one POST per kind, optionally stopping each thread after N responses."""
    reqs = []
    for kind in kinds:
        headers = ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers_for(target, kind).items())
        path, body = body_for(target, kind)
        reqs.append(f"wrk.format('POST', {_lua_string(path)}, {{ {headers} }}, {_lua_string(body.decode())})")
    return LUA.format(requests=", ".join(reqs), max_per_thread=max_per_thread,
                      response=RESPONSE_STOP if max_per_thread else "")


@dataclass
class WrkResult:
    """One wrk run, latencies in milliseconds."""

    rps: float
    requests: int
    p50: float
    p90: float
    p99: float
    mean: float
    max: float
    non2xx: int
    socket_errors: int
    duration_s: float

    def as_dict(self) -> dict:
        """JSON-friendly."""
        return dict(self.__dict__)


def run_wrk(target: Target, kinds: list[str], concurrency: int, duration: float, work: Path,
            max_requests: int = 0) -> WrkResult:
    """Run wrk against the target (bounded by `duration`, and by `max_requests` when given)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    threads = 1 if concurrency < 4 else 2
    per_thread = -(-max_requests // threads) if max_requests else 0
    script = work / f"wrk-{target.name}-{'-'.join(kinds)}-c{concurrency}.lua"
    script.write_text(lua_script(target, kinds, per_thread))
    args = [wrk, "-t", str(threads), "-c", str(concurrency), "-d", f"{max(1, round(duration))}s",
            "--timeout", "30s", "-s", str(script), target.url]
    out = subprocess.run(args, capture_output=True, text=True, timeout=duration + 120)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout}\n{out.stderr}")
    d = json.loads(line.split(" ", 1)[1])
    secs = d["duration_us"] / 1e6
    pct = d["percentiles_us"]
    return WrkResult(rps=d["requests"] / secs if secs else 0.0, requests=d["requests"], p50=pct["50"] / 1000,
                     p90=pct["90"] / 1000, p99=pct["99"] / 1000, mean=d["mean_us"] / 1000,
                     max=d["max_us"] / 1000, non2xx=d["status"],
                     socket_errors=d["connect"] + d["read"] + d["write"] + d["timeout"], duration_s=secs)


def probe(target: Target, kind: str) -> int:
    """HTTP status of one request of `kind` (0 when the connection failed)."""
    import httpx

    path, body = body_for(target, kind)
    try:
        return httpx.post(target.url + path, content=body, headers=headers_for(target, kind), timeout=30).status_code
    except httpx.HTTPError:
        return 0


def _pcts(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "n": 0}
    qs = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": statistics.median(values), "p90": qs[89], "p99": qs[98], "n": len(values)}


def ttfc(target: Target, requests: int, warmup: int = 20, time_limit: float = 120.0) -> dict[str, dict]:
    """Time to first SSE chunk and to the end of the stream at concurrency 1, in ms (h11 over one keep-alive socket)."""
    path, body = body_for(target, "stream")
    parts = urlsplit(target.url)
    headers = [("host", parts.netloc), *target.headers().items(), ("content-length", str(len(body)))]
    first: list[float] = []
    total: list[float] = []
    deadline = time.monotonic() + time_limit
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = h11.Connection(h11.CLIENT)
    errors = 0
    try:
        for i in range(warmup + requests):
            if time.monotonic() > deadline:
                break
            t_first, t_end, status = _one_stream(sock, conn, path, headers, body)
            conn.start_next_cycle()
            if status != 200:
                errors += 1
            elif i >= warmup:
                first.append(t_first * 1000)
                total.append(t_end * 1000)
    finally:
        sock.close()
    return {"first_chunk_ms": _pcts(first), "full_stream_ms": _pcts(total), "errors": errors}


def _one_stream(sock: socket.socket, conn: h11.Connection, path: str, headers: list, body: bytes
                ) -> tuple[float, float, int]:
    start = time.perf_counter()
    sock.sendall(conn.send(h11.Request(method="POST", target=path, headers=headers)))
    sock.sendall(conn.send(h11.Data(data=body)))
    sock.sendall(conn.send(h11.EndOfMessage()))
    t_first = 0.0
    status = 0
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(sock.recv(65536))
            continue
        if isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data) and not t_first and b"data:" in event.data:
            t_first = time.perf_counter() - start
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            return t_first, time.perf_counter() - start, status
