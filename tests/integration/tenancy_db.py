"""Fresh databases for tenancy integration tests: a SQLite file, or a new PostgreSQL database per test."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from tokenyard.storage.db import create_engine, migrate, sessionmaker

from tests.conftest import POSTGRES_URL


async def fresh_database(kind: str, tmp_path: Path) -> AsyncIterator[tuple[str, async_sessionmaker]]:
    """Yield (url, sessions) of a migrated empty database; drops the PostgreSQL one afterwards."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    else:
        name = f"ty_test_{uuid.uuid4().hex[:12]}"
        admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    await migrate(url)
    engine = create_engine(url)
    try:
        yield url, sessionmaker(engine)
    finally:
        await engine.dispose()
        if kind != "sqlite":
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            await admin.dispose()
