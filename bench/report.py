"""The bench report: machine description, JSON results and a Markdown summary with headline ratios and targets."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil




def _cmd(args: list[str]) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


def machine() -> dict[str, Any]:
    """What ran the bench (the load average shows how shared the machine was)."""
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    root = Path(__file__).resolve().parent.parent
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": sys.version.split()[0], "kernel": platform.release(), "loadavg_start": os.getloadavg(),
            "nginx": _cmd(["nginx", "-v"]), "wrk": _cmd(["wrk", "-v"]),
            "tokenyard_rev": _cmd(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])}


def _f(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _run(results: dict, target: str, mode: str, c: int) -> dict | None:
    return (results["targets"].get(target, {}).get("runs") or {}).get(f"{mode}-c{c}")


def headline(results: dict) -> dict[str, Any]:
    """The ratios and target checks the issue asks for."""
    h: dict[str, Any] = {}
    ty, ll, d = "tokenyard", "litellm", "direct"
    for mode in ("chat", "stream"):
        a, b, base = _run(results, ty, mode, 64), _run(results, ll, mode, 64), _run(results, d, mode, 64)
        if a and b and b["rps"]:
            h[f"{mode}_c64_rps_tokenyard_over_litellm"] = a["rps"] / b["rps"]
            h[f"{mode}_c64_p99_tokenyard_over_litellm"] = a["p99"] / b["p99"] if b["p99"] else None
        if a and base and base["rps"]:
            h[f"{mode}_c64_rps_tokenyard_over_direct"] = a["rps"] / base["rps"]
        if a and b and _cpu_per_req(a) and _cpu_per_req(b):
            h[f"{mode}_c64_cpu_ms_per_req_tokenyard"] = _cpu_per_req(a)
            h[f"{mode}_c64_cpu_ms_per_req_litellm"] = _cpu_per_req(b)
            h[f"{mode}_c64_cpu_efficiency_tokenyard_over_litellm"] = _cpu_per_req(b) / _cpu_per_req(a)
    one, one_d = _run(results, ty, "chat", 1), _run(results, d, "chat", 1)
    if one and one_d:
        h["overhead_c1_p50_ms"] = one["p50"] - one_d["p50"]
        h["overhead_c1_p99_ms"] = one["p99"] - one_d["p99"]
    t_ty = results["targets"].get(ty, {}).get("ttfc")
    t_d = results["targets"].get(d, {}).get("ttfc")
    if t_ty and t_d:
        h["ttfc_overhead_p50_ms"] = t_ty["first_chunk_ms"]["p50"] - t_d["first_chunk_ms"]["p50"]
    idle = results["targets"].get(ty, {}).get("rss_idle_mb")
    if idle is not None:
        h["idle_rss_mb"] = idle
    soak = results.get("soak")
    if soak and soak.get("rss_growth_pct") is not None:
        h["soak_rss_growth_pct"] = soak["rss_growth_pct"]
    return h


TARGETS = [  # (headline key, limit, 'le' or 'ge', label)
    ("overhead_c1_p50_ms", 0.5, "le", "overhead c=1 p50 ≤ 0.5 ms"),
    ("overhead_c1_p99_ms", 1.5, "le", "overhead c=1 p99 ≤ 1.5 ms"),
    ("chat_c64_rps_tokenyard_over_litellm", 5.0, "ge", "c=64 throughput ≥ 5× LiteLLM"),
    ("chat_c64_p99_tokenyard_over_litellm", 0.1, "le", "c=64 p99 ≤ 1/10 of LiteLLM's"),
    ("ttfc_overhead_p50_ms", 1.0, "le", "stream TTFC overhead p50 ≤ 1 ms"),
    ("idle_rss_mb", 150.0, "le", "idle RSS ≤ 150 MB"),
    ("soak_rss_growth_pct", 10.0, "le", "soak: RSS at end within 10% of after warm-up"),
]


def target_checks(h: dict[str, Any]) -> list[dict[str, Any]]:
    """Each issue target: met or missed, and by how much."""
    rows = []
    for key, limit, op, label in TARGETS:
        v = h.get(key)
        if v is None:
            rows.append({"target": label, "value": None, "met": None, "gap": None})
            continue
        met = v <= limit if op == "le" else v >= limit
        gap = (v - limit) if op == "le" else (limit - v)
        rows.append({"target": label, "value": v, "met": met, "gap": None if met else gap})
    return rows


def markdown(results: dict) -> str:
    """The human report."""
    m = results["machine"]
    lines = [f"# tokenyard benchmark ({results['mode']} mode, {results['started']})", "",
             f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gb']} GB RAM, Python {m['python']}, "
             f"kernel {m['kernel']}, {m['nginx']}, {m['wrk']}; tokenyard {m['tokenyard_rev']}. "
             f"Load average at start {tuple(round(x, 2) for x in m['loadavg_start'])}, at end "
             f"{tuple(round(x, 2) for x in results.get('loadavg_end', (0, 0, 0)))}.", "",
             f"Command: `{results['command']}`", ""]
    lines += _headline_md(results)
    lines += _runs_md(results)
    lines += _ttfc_md(results)
    lines += _soak_md(results)
    notes = results.get("notes") or []
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines) + "\n"


def _headline_md(results: dict) -> list[str]:
    h = results["headline"]
    out = ["## Headline", "", "| figure | value |", "|---|---|"]
    for k, v in h.items():
        out.append(f"| {k} | {_f(v, 3) if isinstance(v, float) else v} |")
    out += ["", "## Targets (issue 11)", "", "| target | value | met | missed by |", "|---|---|---|---|"]
    for row in results["targets_check"]:
        met = "n/a" if row["met"] is None else ("yes" if row["met"] else "**no**")
        out.append(f"| {row['target']} | {_f(row['value'], 3)} | {met} | {_f(row['gap'], 3)} |")
    return [*out, ""]


TITLES = {"chat": "Non-streaming", "stream": "Streaming (whole response)",
          "responses": "Responses API, non-streaming (overhead against direct chat)",
          "responses_stream": "Responses API, streaming (overhead against direct stream)",
          "messages": "Anthropic Messages API, non-streaming (overhead against direct chat)",
          "messages_stream": "Anthropic Messages API, streaming (overhead against direct stream)"}


BASE_MODE = {"responses": "chat", "messages": "chat", "responses_stream": "stream", "messages_stream": "stream"}
"""The direct run an agent-API run's overhead is read against (direct has no such route)."""


def _runs_md(results: dict) -> list[str]:
    out = []
    direct = results["targets"].get("direct", {}).get("runs") or {}
    modes = sorted({key.rsplit("-c", 1)[0] for t in results["targets"].values() for key in (t.get("runs") or {})},
                   key=lambda m: (m not in ("chat", "stream"), m))
    for mode in modes:
        out += [f"## {TITLES.get(mode, mode)} — wrk", "",
                "| target | c | RPS | p50 ms | p90 ms | p99 ms | non-2xx | socket err | overhead p50/p90/p99 ms "
                "| peak RSS MB | CPU s (target / nginx) | target CPU ms/req |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for name, t in results["targets"].items():
            for key, r in (t.get("runs") or {}).items():
                if not key.startswith(mode + "-"):
                    continue
                d = direct.get(f"{BASE_MODE.get(mode, mode)}-c{r['concurrency']}")
                over = "/".join(_f(r[p] - d[p]) for p in ("p50", "p90", "p99")) if d and name != "direct" else "—"
                out.append(f"| {name} | {r['concurrency']} | {r['rps']:.0f} | {_f(r['p50'])} | {_f(r['p90'])} | "
                           f"{_f(r['p99'])} | {r['non2xx']} | {r['socket_errors']} | {over} | "
                           f"{_f(r.get('peak_rss_mb'), 0)} | {_f(r.get('cpu_target_s'), 1)} / "
                           f"{_f(r.get('cpu_upstream_s'), 1)} | {_f(_cpu_per_req(r), 3)} |")
        out.append("")
        out += _by_process_md(results, mode)
    return out


def _by_process_md(results: dict, mode: str) -> list[str]:
    """CPU ms per request of each process of the multi-process targets (split mode), per run."""
    out = []
    for name, t in results["targets"].items():
        for key, r in (t.get("runs") or {}).items():
            parts = r.get("cpu_ms_per_req_by_process") or {}
            if key.startswith(mode + "-") and len(parts) > 1:
                out.append(f"- {name} c={r['concurrency']}: CPU ms/req by process: "
                           + ", ".join(f"{p} {_f(v, 3)}" for p, v in parts.items()))
    return [*out, ""] if out else []


def _cpu_per_req(r: dict) -> float | None:
    """CPU milliseconds the target's processes spent per request: steadier than latency on a busy machine."""
    cpu = r.get("cpu_target_s")
    return cpu * 1000 / r["requests"] if cpu is not None and r.get("requests") else None


def _ttfc_md(results: dict) -> list[str]:
    out = ["## Streaming time to first chunk (concurrency 1, h11 client)", "",
           "| target | n | first chunk p50/p90/p99 ms | whole stream p50/p90/p99 ms | TTFC overhead p50 ms | errors |",
           "|---|---|---|---|---|---|"]
    base = results["targets"].get("direct", {}).get("ttfc")
    for name, t in results["targets"].items():
        tt = t.get("ttfc")
        if not tt:
            continue
        fc, fs = tt["first_chunk_ms"], tt["full_stream_ms"]
        over = _f(fc["p50"] - base["first_chunk_ms"]["p50"], 3) if base and name != "direct" else "—"
        out.append(f"| {name} | {fc['n']} | {_f(fc['p50'])}/{_f(fc['p90'])}/{_f(fc['p99'])} | "
                   f"{_f(fs['p50'])}/{_f(fs['p90'])}/{_f(fs['p99'])} | {over} | {tt['errors']} |")
    out += ["", "## Memory", "", "| target | RSS after start MB | RSS after runs MB | probes |", "|---|---|---|---|"]
    for name, t in results["targets"].items():
        out.append(f"| {name} | {_f(t.get('rss_idle_mb'), 0)} | {_f(t.get('rss_end_mb'), 0)} | "
                   f"{t.get('probes', {})} |")
    return [*out, ""]


def _soak_md(results: dict) -> list[str]:
    s = results.get("soak")
    if not s:
        return []
    out = ["## Soak", "",
           f"Target {s['target']}, mix {s['kinds']} (skipped: {s.get('skipped') or 'none'}), "
           f"{s['warmup_requests']} warm-up requests then {s['requests']} requests at c={s['concurrency']}"
           f"{'' if s['soak'].get('complete', True) else ' (stopped short by the time bound)'}, "
           "in wrk batches of at most 10 s (p50 = median of the batches', p99 = worst batch's).", "",
           "| phase | requests | RPS | p50 ms | p99 ms | non-2xx | socket err | RSS after MB |",
           "|---|---|---|---|---|---|---|---|"]
    for phase in ("warmup", "soak"):
        r = s[phase]
        out.append(f"| {phase} | {r['requests']} | {r['rps']:.0f} | {_f(r['p50'])} | {_f(r['p99'])} | {r['non2xx']} "
                   f"| {r['socket_errors']} | {_f(r['rss_after_mb'], 1)} |")
    out += ["", f"RSS growth from after warm-up to the end: {_f(s['rss_growth_pct'], 2)}%. "
            f"RSS after each soak batch (MB): {s['soak'].get('rss_series_mb')}.", ""]
    return out
