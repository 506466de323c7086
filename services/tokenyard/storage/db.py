"""Async engine and session factory for SQLite (default) and PostgreSQL, plus migrations at start-up."""
from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from tokenyard.storage.private import private_sqlite

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK_KEY = 0x746F6B656E796172  # "tokenyar": the PostgreSQL advisory lock every migrating process takes
_ALEMBIC = threading.Lock()  # Alembic's `context` is process-global: one upgrade at a time per process
P = ParamSpec("P")
T = TypeVar("T")


def shielded(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Run a short database write to its end even when its caller is cancelled (a client went away, a
    task was stopped). A transaction interrupted by cancellation can leave its pooled connection holding
    SQLite's write lock, which then stalls every other writer; the caller still sees the cancellation."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.shield(fn(*args, **kwargs))  # type: ignore[arg-type]

    return wrapper


def is_sqlite(url: str) -> bool:
    """True for SQLite URLs."""
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str) -> str | None:
    """The path of a SQLite database file (None for other databases, in-memory and `file:` URIs)."""
    db = make_url(url).database if is_sqlite(url) else None
    return None if not db or db == ":memory:" or db.startswith("file:") else db


def create_engine(url: str) -> AsyncEngine:
    """An engine tuned for the backend: WAL and a busy timeout on SQLite, a bounded pool on PostgreSQL.

    A SQLite file is created private (0600, in a 0700 folder; see storage.private)."""
    if is_sqlite(url):
        if db := sqlite_file(url):
            private_sqlite(db)
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    """Session factory that keeps objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@contextlib.contextmanager
def _sqlite_migration_lock(url: str) -> Iterator[None]:
    """Hold an OS file lock on `<db>.migrate.lock` next to a SQLite file (nothing for other databases).

    SQLite's own locking covers one statement, not Alembic's read-the-version-then-create sequence, so
    processes starting together on a fresh file would both create the same tables. flock is released by
    the kernel when the process dies, so a crashed migrator never leaves the lock behind."""
    db = sqlite_file(url)
    if not db:
        yield
        return
    import fcntl  # POSIX only, like the rest of the local mode

    private_sqlite(db)  # before Alembic's first connection creates the file with the umask's mode
    path = Path(f"{db}.migrate.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _upgrade(url: str) -> None:
    with _ALEMBIC, _sqlite_migration_lock(url):
        command.upgrade(alembic_config(url), "heads")


async def migrate(url: str) -> None:
    """Upgrade the database to every head (each service owns a migration branch).

    Safe to call from several processes at once (split services starting together on one database): on
    PostgreSQL the migration transaction first takes an advisory lock on MIGRATION_LOCK_KEY (see
    migrations/env.py), so one process migrates while the others wait, then find nothing left to do. On a
    SQLite file the same is done with a file lock on `<db>.migrate.lock` (see _sqlite_migration_lock)."""
    await asyncio.to_thread(_upgrade, url)
