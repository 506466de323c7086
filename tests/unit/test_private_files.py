"""Private local files: a database is created 0600, and a shared folder it sits in is never chmod-ed."""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from tokenyard.storage.private import private_dir, private_sqlite


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_database_in_an_existing_shared_folder_is_private_and_the_folder_is_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp
    private_sqlite(str(shared / "tokenyard.db"))
    assert _mode(shared / "tokenyard.db") == 0o600
    assert _mode(shared) == 0o1777


def test_a_sticky_data_folder_is_warned_about_not_changed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    with caplog.at_level(logging.WARNING, logger="tokenyard.storage.private"):
        private_dir(shared)
    assert _mode(shared) == 0o1777
    assert "left as it is" in caplog.text and str(shared) in caplog.text


def test_a_missing_database_folder_is_created_private(tmp_path: Path) -> None:
    private_sqlite(str(tmp_path / "new" / "deeper" / "tokenyard.db"))
    assert _mode(tmp_path / "new" / "deeper") == 0o700
    assert _mode(tmp_path / "new" / "deeper" / "tokenyard.db") == 0o600
