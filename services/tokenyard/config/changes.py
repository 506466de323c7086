"""The config change feed: rows in `config_changes`, polled locally and streamed by WatchChanges."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tokenyard.config.tables import ConfigChange
from tokenyard.tablefeed import TableFeed, rows_after


@dataclass(frozen=True)
class ChangeEvent:
    """Something about one object changed: caches drop it (`kind` is "app" or "app_config")."""

    sequence: int
    kind: str
    id: str


def add_change(session: AsyncSession, kind: str, object_id: str, when: dt.datetime) -> None:
    """Append a change inside the caller's transaction."""
    session.add(ConfigChange(kind=kind, object_id=object_id, created_at=when))


def _event(row: ConfigChange) -> ChangeEvent:
    return ChangeEvent(row.seq, row.kind, row.object_id)


async def changes_after(sessions: async_sessionmaker, after: int,
                        since: dt.datetime | None = None) -> list[ChangeEvent]:
    """Changes with a sequence above `after` (or, when `since` is given, created since then)."""
    return await rows_after(sessions, ConfigChange, _event, after, since)


class ChangeFeed(TableFeed[ChangeEvent]):
    """Polls the change table (~200 ms), tells this process's caches and publishes to WatchChanges streams."""

    def __init__(self, sessions: async_sessionmaker, on_change: Callable[[ChangeEvent], None],
                 interval: float = 0.2) -> None:
        super().__init__(sessions, ConfigChange, _event, on_change, interval)
