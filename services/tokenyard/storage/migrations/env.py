"""Alembic environment: runs migrations over the async engine named in the config."""
from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from tokenyard.storage.db import MIGRATION_LOCK_KEY, create_engine

config = context.config


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Before Alembic reads the version table: processes migrating one database at once queue here. The
        # transaction-scoped form of pg_advisory_lock is released by the commit (or rollback) of this very
        # transaction, so it can never outlive the migration on a pooled connection. Alembic runs the
        # migrations inside the transaction this statement began.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    context.configure(connection=connection, target_metadata=None, render_as_batch=True,
                      version_table="alembic_version")
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported")
asyncio.run(_main())
