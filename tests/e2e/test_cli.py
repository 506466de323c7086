"""The operator CLI against a running gateway: real subprocesses, real output, real exit codes."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.harness.gateway import Gateway


def run(gw: Gateway, *args: str, key: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "TOKENYARD_URL": gw.url, "TOKENYARD_KEY": key if key is not None else gw.admin_key,
           "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "tokenyard", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_chat_streams_the_answer(gateway: Gateway) -> None:
    out = run(gateway, "chat", "hello from the terminal", "--model", "local/echo")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "hello from the terminal"


def test_bad_key_prints_one_error_line_and_fails(gateway: Gateway) -> None:
    out = run(gateway, "chat", "x", key="ty_sk_wrong")
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: HTTP 401")
    assert "Traceback" not in out.stderr


def test_unreachable_gateway_is_one_clear_line() -> None:
    env = {**os.environ, "TOKENYARD_KEY": "k"}
    out = subprocess.run([sys.executable, "-m", "tokenyard", "chat", "x", "--url", "http://127.0.0.1:9"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.strip() == "error: cannot reach http://127.0.0.1:9"


def test_missing_key_is_reported(gateway: Gateway) -> None:
    out = run(gateway, "keys", "list", key="")
    assert out.returncode == 1 and "no API key" in out.stderr


def test_bench_command_runs_the_suite_entry_point() -> None:
    out = subprocess.run([sys.executable, "-m", "tokenyard", "bench", "--", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "--soak-requests" in out.stdout


def test_a_bad_setting_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, "TOKENYARD_CREDIT_HOLDS": "bogus", "TOKENYARD_DATA_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "tokenyard", "up", "--http-listen", "127.0.0.1:0"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "invalid setting TOKENYARD_CREDIT_HOLDS" in out.stderr and "'memory'" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
