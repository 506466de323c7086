"""The job table as a durable queue: atomic claims with leases, heartbeats, and conditional status moves.

A claim is one UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING, so on PostgreSQL
workers never wait on each other, and on SQLite (which has no row locks) the single conditional write is
atomic by itself. Every later move names the worker that holds the job, so a worker whose lease expired
and was taken over can no longer change it.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import aliased

from tokenyard.paging import newest_first, older_than
from tokenyard.storage.db import shielded
from tokenyard.storage.types import utcnow
from tokenyard.videojobs.tables import (BILLING_DONE, BILLING_RESERVED, CANCELLED, COMPLETED, FAILED,
                                        IN_PROGRESS, QUEUED, TERMINAL, VideoJob)

J = VideoJob


class JobQueue:
    """All reads and writes of video jobs."""

    def __init__(self, sessions: async_sessionmaker, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    @shielded
    async def _update(self, where: Sequence[Any], values: dict[str, Any]) -> VideoJob | None:
        """One conditional UPDATE; the updated row, or None when the condition did not hold."""
        stmt = update(J).where(*where).values(**values, updated_at=self._clock()).returning(J)
        async with self._sessions() as s, s.begin():
            return (await s.execute(stmt)).scalars().first()

    @shielded
    async def add(self, job: VideoJob) -> VideoJob:
        """Insert a new job."""
        async with self._sessions() as s, s.begin():
            s.add(job)
        return job

    async def get(self, job_id: str) -> VideoJob | None:
        """One job by id."""
        async with self._sessions() as s:
            return await s.get(J, job_id)

    async def page(self, account_id: str, *, app_id: str = "", after: VideoJob | None = None,
                   limit: int = 20) -> tuple[list[VideoJob], bool]:
        """The account's jobs, newest first, after a cursor job; returns (jobs, has_more)."""
        q = select(J).where(J.account_id == account_id)
        if app_id:
            q = q.where(J.app_id == app_id)
        if after is not None:
            q = q.where(older_than(J, after))
        q = q.order_by(*newest_first(J)).limit(limit + 1)
        async with self._sessions() as s:
            rows = list((await s.execute(q)).scalars())
        return rows[:limit], len(rows) > limit

    @shielded
    async def fail_lost(self, max_attempts: int) -> int:
        """Fail jobs whose workers died `max_attempts` times (a job that kills its worker must not loop)."""
        now = self._clock()
        stmt = (update(J).where(J.status == IN_PROGRESS, J.lease_expires_at < now, J.attempts >= max_attempts)
                .values(status=FAILED, error_code="worker_lost", completed_at=now, updated_at=now,
                        error=f"the job's worker stopped {max_attempts} times; giving up"))
        async with self._sessions() as s, s.begin():
            return max((await s.execute(stmt)).rowcount or 0, 0)

    async def claim(self, worker_id: str, lease_seconds: float, max_attempts: int) -> VideoJob | None:
        """Take the oldest queued job, or one whose lease expired; None when there is none."""
        now = self._clock()

        def claimable(t: Any) -> Any:
            return or_(t.status == QUEUED,
                       and_(t.status == IN_PROGRESS, t.lease_expires_at < now, t.attempts < max_attempts))

        p = aliased(J, name="pick")
        pick = (select(p.id).where(claimable(p)).order_by(p.created_at, p.id).limit(1)
                .with_for_update(skip_locked=True).scalar_subquery())
        return await self._update(
            [J.id == pick, claimable(J)],
            {"status": IN_PROGRESS, "worker_id": worker_id, "attempts": J.attempts + 1,
             "lease_expires_at": now + dt.timedelta(seconds=lease_seconds),
             "started_at": func.coalesce(J.started_at, now)})

    async def depth(self) -> tuple[int, int]:
        """(queued, running) jobs in the whole queue (every process's), for the queue-depth gauge."""
        async with self._sessions() as s:
            rows = (await s.execute(select(J.status, func.count()).where(J.status.in_((QUEUED, IN_PROGRESS)))
                                    .group_by(J.status))).all()
        counts = dict(rows)
        return counts.get(QUEUED, 0), counts.get(IN_PROGRESS, 0)

    def _held(self, job_id: str, worker_id: str) -> list[Any]:
        return [J.id == job_id, J.worker_id == worker_id, J.status == IN_PROGRESS]

    async def heartbeat(self, job_id: str, worker_id: str, lease_seconds: float, progress: int) -> bool:
        """Extend the lease and store progress; False when the job was cancelled or taken over."""
        row = await self._update(self._held(job_id, worker_id), {
            "lease_expires_at": self._clock() + dt.timedelta(seconds=lease_seconds),
            "progress": progress})
        return row is not None

    async def checkpoint(self, job_id: str, worker_id: str, state: dict[str, Any]) -> bool:
        """Persist the renderer's resumable state."""
        return await self._update(self._held(job_id, worker_id), {"upstream_state": dict(state)}) is not None

    async def complete(self, job_id: str, worker_id: str, content_key: str, content_length: int
                       ) -> VideoJob | None:
        """Mark a held job completed with its content; None when it is no longer ours."""
        return await self._update(self._held(job_id, worker_id), {
            "status": COMPLETED, "progress": 100, "completed_at": self._clock(), "content_key": content_key,
            "content_length": content_length, "charged_micros": J.cost_micros, "lease_expires_at": None})

    async def fail(self, job_id: str, worker_id: str, code: str, message: str) -> VideoJob | None:
        """Mark a held job failed."""
        return await self._update(self._held(job_id, worker_id), {
            "status": FAILED, "error_code": code, "error": message[:2000], "completed_at": self._clock(),
            "lease_expires_at": None})

    async def requeue(self, job_id: str, worker_id: str) -> bool:
        """Give a held job back (graceful shutdown); the attempt does not count."""
        back = {"status": QUEUED, "worker_id": "", "lease_expires_at": None, "attempts": J.attempts - 1}
        return await self._update(self._held(job_id, worker_id), back) is not None

    async def cancel(self, job_id: str) -> VideoJob | None:
        """Cancel a queued or running job; None when it had already ended."""
        return await self._update([J.id == job_id, J.status.in_((QUEUED, IN_PROGRESS))], {
            "status": CANCELLED, "completed_at": self._clock(), "lease_expires_at": None})

    @shielded
    async def delete(self, job_id: str) -> VideoJob | None:
        """Delete an ended, settled job; the deleted row, or None when it is not (or no longer) one."""
        stmt = (delete(J).where(J.id == job_id, J.status.in_(TERMINAL), J.billing == BILLING_DONE)
                .returning(J))
        async with self._sessions() as s, s.begin():
            return (await s.execute(stmt)).scalars().first()

    async def unbilled(self, older_than: dt.timedelta, limit: int = 50) -> list[VideoJob]:
        """Ended jobs whose credits were not settled or released yet (e.g. the process died in between)."""
        q = (select(J).where(J.billing == BILLING_RESERVED, J.status.in_(TERMINAL),
                             J.updated_at < self._clock() - older_than).limit(limit))
        async with self._sessions() as s:
            return list((await s.execute(q)).scalars())

    async def mark_billed(self, job_id: str) -> bool:
        """Record that Metering was told how the job ended."""
        return await self._update([J.id == job_id, J.billing == BILLING_RESERVED],
                                  {"billing": BILLING_DONE}) is not None
