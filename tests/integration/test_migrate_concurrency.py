"""Several services starting at once on one fresh PostgreSQL database: every migrate() succeeds and leaves one
consistent schema (the advisory lock in the migration environment serialises them)."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import inspect, text
from tokenyard.storage.db import create_engine, migrate

from tests.conftest import HAVE_POSTGRES
from tests.integration.conftest import create_pg_database, drop_pg_database

pytestmark = pytest.mark.skipif(not HAVE_POSTGRES, reason="PostgreSQL is not running on 127.0.0.1:5432 (SQLite: "
                                "see test_migrate_concurrency_sqlite.py)")
PROCESSES = 4
# Each process imports tokenyard, then waits for the same instant so their migrations really overlap.
SCRIPT = """
import asyncio, sys, time
from tokenyard.storage.db import migrate
url, start_at = sys.argv[1], float(sys.argv[2])
time.sleep(max(0.0, start_at - time.time()))
asyncio.run(migrate(url))
"""


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture(scope="module")
def reference() -> tuple[set[str], list[str], dict[str, set[str]]]:
    """The schema one migrate() alone makes on a fresh database."""
    async def make() -> tuple[set[str], list[str], dict[str, set[str]]]:
        url = await create_pg_database()
        try:
            await migrate(url)
            return await schema_of(url)
        finally:
            await drop_pg_database(url)

    return asyncio.run(make())


async def schema_of(url: str) -> tuple[set[str], list[str], dict[str, set[str]]]:
    """(tables, sorted alembic_version rows, columns per table) of a database."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            versions = [r[0] for r in await conn.execute(text("SELECT version_num FROM alembic_version"))]

            def describe(sync_conn):  # type: ignore[no-untyped-def]
                insp = inspect(sync_conn)
                return {t: {c["name"] for c in insp.get_columns(t)} for t in insp.get_table_names()}

            columns = await conn.run_sync(describe)
    finally:
        await engine.dispose()
    return set(columns), sorted(versions), columns


async def test_concurrent_first_starts_in_separate_processes_all_succeed(pg_url: str, reference: tuple) -> None:
    start_at = time.time() + 3.0
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, pg_url, str(start_at)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT) for _ in range(PROCESSES)]
    outputs = [(p.wait(timeout=120), p.stdout.read().decode(errors="replace")) for p in procs]  # type: ignore[union-attr]
    assert [code for code, _ in outputs] == [0] * PROCESSES, "\n".join(out[-2000:] for _, out in outputs)
    tables, versions, columns = await schema_of(pg_url)
    assert (tables, versions, columns) == reference, "concurrent starts must leave the schema one start leaves"
    assert {"api_keys", "key_revocations", "apps", "usage_records", "video_jobs", "alembic_version"} <= tables
    assert len(versions) == len(set(versions)), "each migration head is recorded once"


async def test_concurrent_calls_in_one_process_and_later_starts_agree(pg_url: str, reference: tuple) -> None:
    await asyncio.gather(*(migrate(pg_url) for _ in range(3)))
    assert await schema_of(pg_url) == reference
    await migrate(pg_url)  # a later start finds nothing to do
    assert await schema_of(pg_url) == reference
