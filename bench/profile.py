"""Profile the all-in-one hot path under wrk load with py-spy: `python bench/profile.py [--mode chat|stream]`.

Writes a flame graph (SVG), the collapsed stacks and a top-functions text summary under bench/results/.
"""
from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT, ROOT / "services", ROOT / "gateway-http"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from bench import load, targets  # noqa: E402
from bench.procs import free_port, stop_all  # noqa: E402
from bench.upstream import Upstream  # noqa: E402


def summarize(collapsed: Path, top: int = 40) -> str:
    """Self and inclusive sample counts per function from py-spy's collapsed stacks."""
    self_c: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        count = int(n)
        total += count
        frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0] + ")" if " (" in f else f
                  for f in stack.split(";")]
        self_c[frames[-1]] += count
        for f in set(frames):
            incl[f] += count
    lines = [f"total samples: {total}", "", "top self time:"]
    lines += [f"  {n / total * 100:5.1f}%  {f}" for f, n in self_c.most_common(top)]
    lines += ["", "top inclusive time:"]
    lines += [f"  {n / total * 100:5.1f}%  {f}" for f, n in incl.most_common(top)]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Start nginx + tokenyard up, load it with wrk, record with py-spy, write the outputs."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--mode", default="chat", choices=["chat", "stream"])
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--seconds", type=int, default=15)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--name", default="")
    p.add_argument("--model", default="", help="Catalog model to call instead of the bench model "
                                                 "(e.g. local/echo: no upstream HTTP at all).")
    p.add_argument("--all-threads", action="store_true",
                   help="Sample every thread, waiting ones included (default: only the GIL holder = CPU).")
    args = p.parse_args()
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    work = ROOT / "bench" / ".work" / "profile"
    work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / (args.name or f"profile-{args.mode}")
    try:
        up = Upstream(work / "nginx", free_port()).start()
        gw = targets.tokenyard(up, work / "gw", split=False)
        if args.model:
            gw.routes[args.mode] = (gw.routes[args.mode][0], args.model)
        load.run_wrk(gw, [args.mode], 8, 3, work)  # warm-up
        loader = threading.Thread(target=load.run_wrk, args=(gw, [args.mode], args.concurrency,
                                                              2 * args.seconds + 6, work))
        loader.start()
        base = [pyspy, "record", "-p", str(gw.pids[0]), "-d", str(args.seconds), "-r", "200", "--nonblocking"]
        if not args.all_threads:
            base.append("--gil")
        for fmt, ext in (("raw", "collapsed"), ("flamegraph", "svg")):  # two recordings under the same load
            subprocess.run([*base, "-f", fmt, "-o", f"{stem}.{ext}"], check=True, capture_output=True)
        loader.join()
        Path(f"{stem}.txt").write_text(summarize(Path(f"{stem}.collapsed")))
        print(f"wrote {stem}.svg, .collapsed and .txt")
    finally:
        stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
