"""Generated protobuf code is fresh and the protos pass buf lint."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def test_generated_code_matches_protos() -> None:
    out = subprocess.run([sys.executable, "scripts/gen_protos.py", "--check"], cwd=ROOT, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.skipif(shutil.which("buf") is None, reason="buf is not installed (npm install -g @bufbuild/buf)")
def test_buf_lint_passes() -> None:
    out = subprocess.run(["buf", "lint"], cwd=ROOT / "protos", capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
