"""Run the tokenyard benchmark end to end: `python bench/run.py [--quick] [--soak-requests N] [--targets ...]`."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT, ROOT / "services", ROOT / "gateway-http"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import psutil  # noqa: E402

from bench import load, report, targets  # noqa: E402
from bench.procs import MB, RssSampler, free_port, rss_bytes, stop_all  # noqa: E402
from bench.upstream import Upstream  # noqa: E402

ALL_TARGETS = ("direct", "tokenyard", "tokenyard-split", "litellm")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="3 s runs, fewer TTFC samples, 5,000-request soak.")
    p.add_argument("--duration", type=float, help="Seconds per wrk run (default 10, quick 3).")
    p.add_argument("--concurrency", default="1,32,64", help="Comma-separated wrk concurrencies.")
    p.add_argument("--modes", default="chat,stream",
                   help="chat (non-streaming), stream, and the agent APIs: responses, responses_stream, messages, "
                        "messages_stream (e.g. --modes chat,stream,responses,messages_stream).")
    p.add_argument("--targets", default=",".join(ALL_TARGETS), help=f"Subset of {', '.join(ALL_TARGETS)}.")
    p.add_argument("--ttfc-requests", type=int, help="Streams measured for time to first chunk (default 500).")
    p.add_argument("--soak-requests", type=int, help="Soak size against tokenyard all-in-one "
                                                     "(default 100000, quick 5000; 0 = no soak).")
    p.add_argument("--soak-max-seconds", type=float, default=1800.0,
                   help="Wall-clock bound of each soak phase (the report says when it stopped short).")
    p.add_argument("--soak-mix", default="chat,stream,embed", help="Request kinds cycled in the soak.")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="Report folder.")
    p.add_argument("--name", default="", help="Report file name stem (default: bench-<mode>).")
    p.add_argument("--work", type=Path, default=ROOT / "bench" / ".work", help="Scratch folder (gitignored).")
    return p.parse_args(argv)


def measure_target(target: targets.Target, upstream: Upstream, args: argparse.Namespace, work: Path,
                   settle: float) -> dict[str, Any]:
    """Every wrk run and the TTFC series against one started target."""
    time.sleep(settle)
    out: dict[str, Any] = {"url": target.url, "notes": list(target.notes), "runs": {}}
    out["rss_idle_mb"] = rss_bytes(target.pids) / MB if target.pids else None
    kinds = {"chat", "stream", "embed", *args.modes.split(",")}
    out["probes"] = {kind: load.probe(target, kind) if kind in target.routes else None for kind in sorted(kinds)}
    modes = [m for m in args.modes.split(",") if out["probes"].get(m) == 200]
    for m in args.modes.split(","):
        if m not in modes:
            out["notes"].append(f"{m}: probe answered {out['probes'].get(m)}; runs skipped")
    if modes:
        load.run_wrk(target, modes, 8, min(3.0, args.duration), work)  # warm-up, not reported
    for mode in modes:
        for c in [int(x) for x in args.concurrency.split(",")]:
            out["runs"][f"{mode}-c{c}"] = _one_run(target, upstream, mode, c, args.duration, work)
            r = out["runs"][f"{mode}-c{c}"]
            print(f"  {target.name:16} {mode:6} c={c:<3} {r['rps']:8.0f} rps  p50 {r['p50']:7.2f}  "
                  f"p99 {r['p99']:7.2f} ms  non2xx {r['non2xx']} sockerr {r['socket_errors']}", flush=True)
    if "stream" in modes:
        out["ttfc"] = load.ttfc(target, args.ttfc_requests)
        print(f"  {target.name:16} ttfc p50 {out['ttfc']['first_chunk_ms']['p50']:.3f} ms", flush=True)
    out["rss_end_mb"] = rss_bytes(target.pids) / MB if target.pids else None
    return out


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            procs = [psutil.Process(pid)]
            procs += procs[0].children(recursive=True)
            total += sum(sum(p.cpu_times()[:2]) for p in procs)
        except psutil.Error:
            pass
    return total


def _one_run(target: targets.Target, upstream: Upstream, mode: str, c: int, duration: float,
             work: Path) -> dict[str, Any]:
    up_pids = [p.popen.pid for p in ([upstream.proc] if upstream.proc else [])]
    cpu_t, cpu_u = _cpu(target.pids), _cpu(up_pids)
    by_proc = {p.name: _cpu([p.popen.pid]) for p in target.procs}
    with RssSampler(target.pids) as rss:
        r = load.run_wrk(target, [mode], c, duration, work)
    d = {**r.as_dict(), "concurrency": c, "cpu_upstream_s": _cpu(up_pids) - cpu_u}
    if target.pids:
        d.update(peak_rss_mb=rss.peak / MB, cpu_target_s=_cpu(target.pids) - cpu_t)
        # CPU ms per request of each process (the split target's facade, Router, Metering, ...)
        d["cpu_ms_per_req_by_process"] = {
            name: (_cpu([p.popen.pid]) - by_proc[name]) * 1000 / r.requests if r.requests else None
            for name, p in ((proc.name, proc) for proc in target.procs)}
    return d


def soak(upstream: Upstream, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """A fresh all-in-one gateway: warm-up, RSS, then N mixed requests in 10 s wrk batches, RSS after each."""
    target = targets.tokenyard(upstream, work / "soak", split=False)
    try:
        time.sleep(2)
        kinds = [k for k in args.soak_mix.split(",") if k]
        probes = {k: load.probe(target, k) for k in kinds}
        live = [k for k in kinds if probes[k] == 200]
        if not live:
            raise RuntimeError(f"soak: no request kind answered 200: {probes}")
        n, warm = args.soak_requests, max(1000, args.soak_requests // 10)
        res: dict[str, Any] = {"target": target.name, "kinds": live, "concurrency": 32, "warmup_requests": warm,
                               "probes": probes, "skipped": {k: s for k, s in probes.items() if s != 200}}
        res["warmup"] = _soak_phase(target, live, warm, work, args.soak_max_seconds)
        res["soak"] = _soak_phase(target, live, n, work, args.soak_max_seconds)
        res["requests"] = res["soak"]["requests"]
        w, e = res["warmup"]["rss_after_mb"], res["soak"]["rss_after_mb"]
        res["rss_growth_pct"] = (e - w) / w * 100 if w else None
        return res
    finally:
        target.stop()


def _soak_phase(target: targets.Target, kinds: list[str], count: int, work: Path, max_seconds: float
                ) -> dict[str, Any]:
    """wrk in batches of at most 10 s until `count` requests were answered (or `max_seconds` passed)."""
    done, batches, started = 0, [], time.monotonic()
    while done < count and time.monotonic() - started < max_seconds:
        r = load.run_wrk(target, kinds, 32, 10, work, max_requests=count - done)
        done += r.requests
        batches.append({**r.as_dict(), "rss_mb": rss_bytes(target.pids) / MB})
        print(f"  soak: {done}/{count} requests, {r.rps:.0f} rps, RSS {batches[-1]['rss_mb']:.1f} MB", flush=True)
    secs = sum(b["duration_s"] for b in batches) or 1.0
    return {"requests": done, "rps": done / secs, "seconds": secs,
            "p50": statistics.median(b["p50"] for b in batches), "p99": max(b["p99"] for b in batches),
            "non2xx": sum(b["non2xx"] for b in batches), "socket_errors": sum(b["socket_errors"] for b in batches),
            "rss_after_mb": batches[-1]["rss_mb"], "rss_series_mb": [round(b["rss_mb"], 1) for b in batches],
            "complete": done >= count}


def start_target(name: str, upstream: Upstream, work: Path, args: argparse.Namespace) -> targets.Target:
    """Start one target by name."""
    if name == "direct":
        return targets.direct(upstream)
    if name == "litellm":
        return targets.litellm(upstream, work, args.work / "litellm-venv")
    return targets.tokenyard(upstream, work / name, split=name == "tokenyard-split")


def main(argv: list[str] | None = None) -> int:
    """Run everything, write bench/results/<name>.json and .md, stop every process."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop every child on SIGTERM
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.ttfc_requests = args.ttfc_requests or (150 if args.quick else 500)
    if args.soak_requests is None:
        args.soak_requests = 5000 if args.quick else 100_000
    mode = "quick" if args.quick else "full"
    stamp = dt.datetime.now(dt.timezone.utc)
    work = args.work / f"run-{stamp:%Y%m%dT%H%M%S}"
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"mode": mode, "started": stamp.isoformat(timespec="seconds"),
                               "command": "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
                               "machine": report.machine(), "settings": {k: str(v) for k, v in vars(args).items()},
                               "targets": {}, "notes": []}
    upstream = Upstream(work / "nginx", free_port())
    try:
        upstream.start()
        for name in [t for t in args.targets.split(",") if t]:
            print(f"== {name}", flush=True)
            try:
                target = start_target(name, upstream, work, args)
            except Exception as exc:  # noqa: BLE001 - one broken target must not lose the others' figures
                results["notes"].append(f"{name}: failed to start: {str(exc)[:600]}")
                print(f"  {name} failed to start: {exc}", flush=True)
                continue
            try:
                results["targets"][name] = measure_target(target, upstream, args, work,
                                                          settle=0 if name == "direct" else 2)
            except Exception as exc:  # noqa: BLE001
                results["notes"].append(f"{name}: failed during measurement: {str(exc)[:600]}")
                print(f"  {name} failed: {exc}", flush=True)
            finally:
                target.stop()
        if args.soak_requests > 0:
            print("== soak", flush=True)
            try:
                results["soak"] = soak(upstream, args, work)
            except Exception as exc:  # noqa: BLE001
                results["notes"].append(f"soak failed: {str(exc)[:600]}")
    finally:
        stop_all()
    results["loadavg_end"] = os.getloadavg()
    finish(results, args)
    return 0


def finish(results: dict[str, Any], args: argparse.Namespace) -> None:
    """Headline, target checks, notes; write JSON and Markdown."""
    results["headline"] = report.headline(results)
    results["targets_check"] = report.target_checks(results["headline"])
    for name, t in results["targets"].items():
        results["notes"] += [f"{name}: {n}" for n in t.get("notes", [])]
    s = results.get("soak") or {}
    for kind, status in (s.get("skipped") or {}).items():
        results["notes"].append(f"soak: `{kind}` answered HTTP {status} on this build and was left out of the mix")
    results["notes"].append("The machine is shared with other engineers' builds and tests while this runs: "
                            "figures are noisy (see the load averages above); ratios within one run are "
                            "more meaningful than absolute numbers.")
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.name or f"bench-{results['mode']}"
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2, default=str))
    (args.out / f"{stem}.md").write_text(report.markdown(results))
    print(f"wrote {args.out / stem}.json and .md", flush=True)
    print(json.dumps(results["headline"], indent=2), flush=True)


if __name__ == "__main__":
    sys.exit(main())
