"""Deployment persistence: rows <-> values and the conditional state transitions several processes may race on."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from tokenyard.common.deployments import LIVE, PENDING, READY, TERMINAL, Deployment
from tokenyard.deployments.tables import DeploymentKeyRow, DeploymentRow
from tokenyard.secretbox import SecretBox


def to_value(row: DeploymentRow, api_key: str = "") -> Deployment:
    """Row -> value (never the pending secret; the upstream key only when given, for routing)."""
    return Deployment(id=row.id, owner=row.owner, model=row.model, upstream_kind=row.upstream_kind,
                      base_url=row.base_url, api_key_env=row.api_key_env, state=row.state,
                      created_at=row.created_at, ends_at=row.ends_at, last_error=row.last_error,
                      default_key_id=row.default_key_id, ready_at=row.ready_at, finished_at=row.finished_at,
                      has_api_key=bool(row.upstream_key), api_key=api_key)


class DeploymentStore:
    """All SQL about deployments (the pending default-key secret and the upstream key are stored sealed).
    Transitions are `UPDATE ... WHERE state IN (...)`: exactly one writer wins."""

    def __init__(self, sessions: async_sessionmaker, box: SecretBox | None = None) -> None:
        self._sessions = sessions
        self._box = box or SecretBox("")

    def seal(self, secret: str) -> str:
        """A secret as it may be stored."""
        return self._box.seal(secret)

    def open(self, sealed: str) -> str:
        """A stored secret back ('' when it was sealed under another key)."""
        return self._box.open(sealed)

    async def add(self, row: DeploymentRow) -> None:
        async with self._sessions() as s, s.begin():
            s.add(row)

    async def get(self, deployment_id: str) -> DeploymentRow | None:
        async with self._sessions() as s:
            return await s.get(DeploymentRow, deployment_id)

    async def list_for(self, owner: str | None) -> list[DeploymentRow]:
        q = select(DeploymentRow).order_by(DeploymentRow.created_at.desc(), DeploymentRow.id)
        if owner is not None:
            q = q.where(DeploymentRow.owner == owner)
        async with self._sessions() as s:
            return list((await s.execute(q)).scalars())

    async def _update(self, deployment_id: str, states: tuple[str, ...], **values: object) -> bool:
        async with self._sessions() as s, s.begin():
            result = await s.execute(update(DeploymentRow).where(DeploymentRow.id == deployment_id)
                                     .where(DeploymentRow.state.in_(states)).values(**values)
                                     .execution_options(synchronize_session=False))
            return result.rowcount == 1

    async def extend(self, deployment_id: str, ends_at: dt.datetime, hours: float) -> bool:
        """Move the end of a live deployment."""
        return await self._update(deployment_id, LIVE, ends_at=ends_at, hours=hours)

    async def finish(self, deployment_id: str, state: str, when: dt.datetime, error: str = "") -> bool:
        """Live -> stopped/failed/ended; the unread secret is dropped and the keys are due for revocation."""
        values: dict[str, object] = {"state": state, "finished_at": when, "pending_secret": None,
                                     "keys_revoked": False}
        if error:
            values["last_error"] = error[:2000]
        return await self._update(deployment_id, LIVE, **values)

    async def mark_ready(self, deployment_id: str, when: dt.datetime, key_id: str, secret: str) -> bool:
        """Pending -> ready with its default key (recorded in the same transaction)."""
        async with self._sessions() as s, s.begin():
            result = await s.execute(update(DeploymentRow).where(DeploymentRow.id == deployment_id)
                                     .where(DeploymentRow.state == PENDING)
                                     .values(state=READY, ready_at=when, default_key_id=key_id,
                                             pending_secret=self._box.seal(secret), last_error="")
                                     .execution_options(synchronize_session=False))
            return result.rowcount == 1

    async def take_secret(self, deployment_id: str) -> str:
        """The default key's secret, exactly once ('' afterwards or when none is waiting)."""
        row = await self.get(deployment_id)
        if row is None or not row.pending_secret:
            return ""
        async with self._sessions() as s, s.begin():
            result = await s.execute(update(DeploymentRow).where(DeploymentRow.id == deployment_id)
                                     .where(DeploymentRow.pending_secret == row.pending_secret)
                                     .values(pending_secret=None).execution_options(synchronize_session=False))
        return self._box.open(row.pending_secret) if result.rowcount == 1 else ""

    async def add_key(self, deployment_id: str, key_id: str, when: dt.datetime) -> None:
        async with self._sessions() as s, s.begin():
            s.add(DeploymentKeyRow(key_id=key_id, deployment_id=deployment_id, created_at=when))

    async def key_ids(self, deployment_id: str) -> list[str]:
        async with self._sessions() as s:
            q = select(DeploymentKeyRow.key_id).where(DeploymentKeyRow.deployment_id == deployment_id)
            return list((await s.execute(q)).scalars())

    async def keys_revoked(self, deployment_id: str) -> None:
        async with self._sessions() as s, s.begin():
            await s.execute(update(DeploymentRow).where(DeploymentRow.id == deployment_id)
                            .values(keys_revoked=True).execution_options(synchronize_session=False))

    # ----- for the health checker -------------------------------------------------------------
    async def expired(self, now: dt.datetime) -> list[str]:
        """Live deployments whose hours are over."""
        q = select(DeploymentRow.id).where(DeploymentRow.state.in_(LIVE)).where(DeploymentRow.ends_at <= now)
        async with self._sessions() as s:
            return list((await s.execute(q.limit(100))).scalars())

    async def unrevoked(self) -> list[str]:
        """Finished deployments whose keys still need revoking (e.g. after a crash mid-way)."""
        q = (select(DeploymentRow.id).where(DeploymentRow.state.in_(TERMINAL))
             .where(DeploymentRow.keys_revoked.is_(False)))
        async with self._sessions() as s:
            return list((await s.execute(q.limit(100))).scalars())

    async def due(self, now: dt.datetime, limit: int = 20) -> list[DeploymentRow]:
        """Pending deployments whose next health check is due."""
        q = (select(DeploymentRow).where(DeploymentRow.state == PENDING).where(DeploymentRow.next_check_at <= now)
             .order_by(DeploymentRow.next_check_at).limit(limit))
        async with self._sessions() as s:
            return list((await s.execute(q)).scalars())

    async def claim(self, row: DeploymentRow, until: dt.datetime) -> bool:
        """Lease one health check to this process (another process seeing the same row loses the race)."""
        async with self._sessions() as s, s.begin():
            result = await s.execute(update(DeploymentRow).where(DeploymentRow.id == row.id)
                                     .where(DeploymentRow.state == PENDING)
                                     .where(DeploymentRow.next_check_at == row.next_check_at)
                                     .values(next_check_at=until).execution_options(synchronize_session=False))
            return result.rowcount == 1

    async def check_failed(self, deployment_id: str, error: str, next_at: dt.datetime) -> None:
        """Record a failed health check and when to try again."""
        async with self._sessions() as s, s.begin():
            await s.execute(update(DeploymentRow).where(DeploymentRow.id == deployment_id)
                            .where(DeploymentRow.state == PENDING)
                            .values(last_error=error[:2000], next_check_at=next_at, checks=DeploymentRow.checks + 1)
                            .execution_options(synchronize_session=False))
