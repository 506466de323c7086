"""Database fixtures: every storage test runs on SQLite and, where it is running, PostgreSQL."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import HAVE_POSTGRES

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


async def create_pg_database() -> str:
    """A fresh, empty PostgreSQL database; returns its SQLAlchemy URL."""
    import asyncpg

    name = f"ty_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop_pg_database(url: str) -> None:
    """Drop a database made by create_pg_database."""
    import asyncpg

    name = url.rsplit("/", 1)[-1]
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database URL of each backend (PostgreSQL skipped when not running)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    if not HAVE_POSTGRES:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)
