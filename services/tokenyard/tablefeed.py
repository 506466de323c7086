"""A change feed over one append-only sequence table (`seq`, `created_at`): poll it, notify this process,
publish to watch streams. Shared by the key revocation feed and the config change feed."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from tokenyard.changefeed import Broadcaster, SequencePoller

E = TypeVar("E")


async def rows_after(sessions: async_sessionmaker, table: Any, to_event: Callable[[Any], E], after: int,
                     since: dt.datetime | None = None) -> list[E]:
    """Rows with a sequence above `after` (or, when `since` is given, also those created since then)."""
    cond = table.seq > after
    if since is not None:
        cond = or_(cond, table.created_at >= since)
    async with sessions() as s:
        rows = (await s.execute(select(table).where(cond).order_by(table.seq).limit(10_000))).scalars()
        return [to_event(r) for r in rows]


async def latest_seq(sessions: async_sessionmaker, table: Any) -> int:
    """The highest sequence so far (0 when none)."""
    async with sessions() as s:
        return int((await s.execute(select(func.max(table.seq)))).scalar() or 0)


class TableFeed(Generic[E]):
    """Polls `table` (~200 ms): calls `on_event` in this process and publishes to `broadcaster` for streams."""

    def __init__(self, sessions: async_sessionmaker, table: Any, to_event: Callable[[Any], E],
                 on_event: Callable[[E], None], interval: float = 0.2) -> None:
        self._sessions = sessions
        self._table = table
        self._to_event = to_event
        self._on_event = on_event
        self.broadcaster: Broadcaster[E] = Broadcaster()
        self._poller: SequencePoller[E] = SequencePoller(self._after, self._handle, interval=interval)

    async def _after(self, after: int, since: dt.datetime | None = None) -> list[E]:
        return await rows_after(self._sessions, self._table, self._to_event, after, since)

    def _handle(self, event: E) -> None:
        self._on_event(event)
        self.broadcaster.publish(event)

    async def start(self) -> None:
        """Start following from the current end of the table."""
        await self._poller.start(await latest_seq(self._sessions, self._table))

    async def poll(self) -> int:
        """Poll once now (tests)."""
        return await self._poller.poll()

    async def history(self, after: int) -> list[E]:
        """Stored events after a sequence (to replay to a reconnecting watcher)."""
        return await self._after(after)

    async def stop(self) -> None:
        """Stop polling."""
        await self._poller.stop()
