"""Split services starting together on one fresh SQLite file: every migrate() succeeds and leaves the schema one
migrate() alone leaves (a file lock next to the database serialises them, like the PostgreSQL advisory lock)."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from tokenyard.storage.db import migrate

from tests.integration.test_migrate_concurrency import PROCESSES, SCRIPT, schema_of


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def test_concurrent_first_starts_on_one_sqlite_file_all_succeed(tmp_path: Path) -> None:
    reference_url = _url(tmp_path / "reference" / "alone.db")
    await migrate(reference_url)
    reference = await schema_of(reference_url)
    url = _url(tmp_path / "shared" / "tokenyard.db")  # its folder does not exist yet either
    start_at = time.time() + 3.0
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, url, str(start_at)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT) for _ in range(PROCESSES)]
    outputs = [(p.wait(timeout=120), p.stdout.read().decode(errors="replace"))  # type: ignore[union-attr]
               for p in procs]
    assert [code for code, _ in outputs] == [0] * PROCESSES, "\n".join(out[-2000:] for _, out in outputs)
    tables, versions, columns = await schema_of(url)
    assert (tables, versions, columns) == reference, "concurrent starts must leave the schema one start leaves"
    assert {"api_keys", "apps", "usage_records", "video_jobs", "deployments", "alembic_version"} <= tables
    assert len(versions) == len(set(versions)), "each migration head is recorded once"
    lock = tmp_path / "shared" / "tokenyard.db.migrate.lock"
    assert lock.exists() and lock.stat().st_mode & 0o077 == 0


async def test_concurrent_calls_in_one_process_then_a_later_start(tmp_path: Path) -> None:
    url = _url(tmp_path / "one.db")
    await asyncio.gather(*(migrate(url) for _ in range(3)))
    first = await schema_of(url)
    await migrate(url)  # a later start finds nothing to do
    assert await schema_of(url) == first
