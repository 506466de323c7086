"""The hot path's CPU per request has not grown: bench/cpu_guard.py (a fixed in-process workload through the
facade's ASGI app and the all-in-one Router, to the OpenAI fake on loopback) against the committed baseline
bench/cpu_baseline.json, within the margin that file states (the script's docstring explains it).

Run alone with `pytest -m cpu_budget`; deselect on a machine too busy to measure with `-m "not cpu_budget"`.
After a deliberate change of the hot path: `python bench/cpu_guard.py --update` and commit the baseline."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.cpu_budget
@pytest.mark.timeout(110)
def test_cpu_per_request_within_the_baseline_margin() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "services"), str(ROOT / "gateway-http"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "cpu_guard.py"), "--check"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=100)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    figures = json.loads(run.stdout.splitlines()[0])
    assert figures["chat_ms"] > 0 and figures["stream_ms"] > 0


def test_the_guard_fails_when_the_baseline_is_beaten_by_more_than_the_margin(tmp_path: Path) -> None:
    """The check's verdict itself (no measurement): a figure above baseline x (1 + margin) fails."""
    sys.path.insert(0, str(ROOT))
    try:
        from bench.cpu_guard import verdicts
    finally:
        sys.path.remove(str(ROOT))
    base = {"margin": 0.35, "chat_units": 0.2, "stream_units": 0.2}
    assert all(ok for _, ok, _ in verdicts({"chat_units": 0.27, "stream_units": 0.1}, base))
    assert [ok for _, ok, _ in verdicts({"chat_units": 0.271, "stream_units": 0.2}, base)] == [False, True]
