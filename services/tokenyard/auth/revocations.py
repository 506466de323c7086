"""The key revocation feed: rows in `key_revocations`, read by pollers and streamed to other processes."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tokenyard.auth.tables import ApiKey, Revocation
from tokenyard.tablefeed import TableFeed, rows_after


@dataclass(frozen=True)
class RevocationEvent:
    """One revoked key: drop `key_hash` from every credential cache."""

    sequence: int
    key_id: str
    key_hash: str


def add_revocation(session: AsyncSession, key_id: str, key_hash: str, when: dt.datetime) -> None:
    """Append a revocation inside the caller's transaction (so it commits with the key change)."""
    session.add(Revocation(key_id=key_id, key_hash=key_hash, created_at=when))


def mark_revoked(session: AsyncSession, key: ApiKey, when: dt.datetime) -> None:
    """Revoke one live key inside the caller's transaction; the revocation joins the feed in the same commit,
    so every process's credential cache drops the key within the feed latency (~1 s)."""
    key.revoked_at = when
    add_revocation(session, key.id, key.key_hash, when)


async def revoke_app_keys(session: AsyncSession, app_id: str, when: dt.datetime) -> list[ApiKey]:
    """Revoke every live key of an app inside the caller's transaction (the app is being deleted)."""
    q = select(ApiKey).where(ApiKey.app_id == app_id, ApiKey.revoked_at.is_(None)).order_by(ApiKey.id)
    keys = list((await session.execute(q)).scalars())
    for key in keys:
        mark_revoked(session, key, when)
    return keys


async def revoke_descendants(session: AsyncSession, key_id: str, when: dt.datetime) -> list[ApiKey]:
    """Revoke every live key a key minted, their children too, inside the caller's transaction (so the whole
    family leaves every process's cache within the feed latency, like the key itself)."""
    revoked: list[ApiKey] = []
    parents = [key_id]
    while parents:
        q = (select(ApiKey).where(ApiKey.parent_key_id.in_(parents), ApiKey.revoked_at.is_(None))
             .order_by(ApiKey.id))
        children = list((await session.execute(q)).scalars())
        for child in children:
            mark_revoked(session, child, when)
        revoked += children
        parents = [c.id for c in children]
    return revoked


def _event(row: Revocation) -> RevocationEvent:
    return RevocationEvent(row.seq, row.key_id, row.key_hash)


async def revocations_after(sessions: async_sessionmaker, after: int,
                            since: dt.datetime | None = None) -> list[RevocationEvent]:
    """Revocations with a sequence above `after` (or, when `since` is given, created since then)."""
    return await rows_after(sessions, Revocation, _event, after, since)


class RevocationFeed(TableFeed[RevocationEvent]):
    """Polls the revocation table (~200 ms): drops revoked keys from this process's cache and publishes them
    to `WatchRevocations` streams of processes that have no database of their own."""

    def __init__(self, sessions: async_sessionmaker, on_revoked: Callable[[RevocationEvent], None],
                 interval: float = 0.2) -> None:
        super().__init__(sessions, Revocation, _event, on_revoked, interval)
