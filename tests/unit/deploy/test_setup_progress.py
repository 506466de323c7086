"""scripts/setup.sh says what it is doing (a line per step and its time) and hides setuptools' editable-install
banner, while a failing step still shows pip's error and stops the set-up (issue 19)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"
# What `pip install -q -e .` prints for this project (pip 26.3, setuptools 8x, lenient editable mode) ...
PIP_26_NOISE = """\
  /tmp/pip-build-env-jdxjbw5i/overlay/lib/python3.11/site-packages/setuptools/command/editable_wheel.py:354: \
BuildBackendWarning: Editable installation.
  !!
  
          ********************************************************************************
          Please be careful with folders in your working directory with the same
          name as your package as they may take precedence during imports.
          ********************************************************************************
  
  !!
    with strategy, WheelFile(wheel_path, "w") as wheel_obj:
"""
# ... and what older pips let through from the build backend.
EDITABLE_NOISE = """\
Editable install will be performed using a meta path finder.
Options like `package-data`, `include/exclude-package-data` or
`packages.find.exclude/include` may have no effect.
/tmp/pip-build-env/overlay/lib/python3.11/site-packages/setuptools/command/editable_wheel.py:354: \
InformationOnly: Editable installation.
!!

        ********************************************************************************
        Please be careful with folders in your working directory with the same
        name as your package as they may take precedence during imports.
        ********************************************************************************

!!
  with strategy, WheelFile(wheel_path, "w") as wheel_obj:
WARNING: Location 'file:///opt/pypi/simple/x/' is ignored: it is either a non-existing path or lacks a file.
"""


def run_step(command: str) -> subprocess.CompletedProcess:
    script = f'set -euo pipefail; source "{SCRIPTS}/setup-steps.sh"; ' \
             f'_ty_step "installing tokenyard and its dependencies" bash -c {command!r}; echo after'
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("banner", [PIP_26_NOISE, EDITABLE_NOISE])
def test_a_step_is_announced_timed_and_the_editable_banner_is_gone(banner: str, tmp_path: Path) -> None:
    noise = tmp_path / "noise.txt"
    noise.write_text(banner + "a real pip message\n")
    out = run_step(f"cat {noise} >&2")
    assert out.returncode == 0 and out.stdout == "after\n"
    lines = out.stderr.splitlines()
    assert lines[0] == "tokenyard: installing tokenyard and its dependencies ..."
    assert lines[1] == "a real pip message"
    assert lines[2].startswith("tokenyard: installing tokenyard and its dependencies: done in ")
    assert len(lines) == 3, out.stderr


def test_a_failing_step_shows_its_error_and_stops_the_set_up() -> None:
    out = run_step("echo 'ERROR: No matching distribution found for torch==2.13.0' >&2; exit 1")
    assert out.returncode == 1 and "after" not in out.stdout
    assert "ERROR: No matching distribution found for torch==2.13.0" in out.stderr
    assert out.stderr.splitlines()[-1] == "tokenyard: installing tokenyard and its dependencies: failed (see above)"


def test_the_setup_scripts_parse() -> None:
    for name in ("setup.sh", "setup-steps.sh", "run", "test"):
        assert subprocess.run(["bash", "-n", str(SCRIPTS / name)]).returncode == 0, name
