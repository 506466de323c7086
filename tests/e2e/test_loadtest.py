"""The gRPC load tool and its ghz configs, run briefly against the all-in-one gateway."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.gateway import Gateway

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "loadtest" / "ghz").glob("*.json"))
sys.path.insert(0, str(ROOT / "loadtest"))
import grpc_load  # noqa: E402


def _run(gw: Gateway, config: str, *args: str, key: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "loadtest/grpc_load.py", f"loadtest/ghz/{config}", "--host", gw.grpc_addr,
           "--key", key or gw.admin_key, *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_config_names_a_real_proto_method_and_a_valid_payload(path: Path, monkeypatch: pytest.MonkeyPatch
                                                                      ) -> None:
    monkeypatch.chdir(ROOT)
    config = json.loads(path.read_text())
    assert {"proto", "import-paths", "call", "total", "concurrency", "data", "metadata", "insecure"} <= set(config)
    call = grpc_load.resolve(config, "ty_sk_x")
    assert call.path == "/" + config["call"].rpartition(".")[0] + "/" + config["call"].rpartition(".")[2]
    assert call.request.ByteSize() > 0


@pytest.mark.parametrize("config,streaming", [("inference_chat.json", False), ("inference_stream_chat.json", True),
                                              ("auth_authenticate.json", False)])
def test_load_tool_reports_ghz_figures_without_errors(gateway: Gateway, config: str, streaming: bool) -> None:
    done = _run(gateway, config, "-n", "40", "-c", "8", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["count"] == 40 and report["errors"] == 0, report["error_distribution"]
    assert report["status_code_distribution"] == {"OK": 40}
    assert report["rps"] > 0
    lat = {row["percentage"]: row["latency_ms"] for row in report["latency_distribution"]}
    assert 0 < report["fastest_ms"] <= lat[50] <= lat[95] <= lat[99] <= report["slowest_ms"]


def test_summary_output_and_errors_are_reported_like_ghz(gateway: Gateway) -> None:
    done = _run(gateway, "inference_chat.json", "-n", "10", "-c", "2", key="ty_sk_not-a-real-key-000000000000")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"Count:\s+10\b", out) and re.search(r"Requests/sec:\s+[\d.]+", out)
    assert re.search(r"99 % in [\d.]+ ms", out)
    assert "[UNAUTHENTICATED]\t10 responses" in out
    assert re.search(r"\[10\]\trpc error: code = UNAUTHENTICATED", out)


def test_duration_bounds_a_run(gateway: Gateway) -> None:
    done = _run(gateway, "inference_chat.json", "-z", "1s", "-c", "4", "--format", "json")
    report = json.loads(done.stdout)
    assert report["count"] > 0 and 0.9 < report["total_ms"] / 1000 < 3
