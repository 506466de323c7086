"""The job queue on real databases (SQLite and PostgreSQL): atomic claims, leases, conditional moves."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from tokenyard.storage.db import create_engine, migrate, sessionmaker
from tokenyard.videojobs.queue import JobQueue
from tokenyard.videojobs.tables import CANCELLED, COMPLETED, FAILED, IN_PROGRESS, QUEUED, VideoJob

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


@pytest.fixture
async def sessions(database_url: str):  # type: ignore[no-untyped-def]
    await migrate(database_url)
    engine = create_engine(database_url)
    yield sessionmaker(engine)
    await engine.dispose()


def job(i: int, account: str = "alice") -> VideoJob:
    created = T0 + dt.timedelta(seconds=i)
    return VideoJob(id=f"video_{i:04d}", account_id=account, app_id="", key_id="k", request_id=f"r{i}",
                    model="local/test-pattern", provider="local", upstream_model="test-pattern", prompt="p",
                    seconds=1.0, size="320x240", status=QUEUED, progress=0, created_at=created, updated_at=created,
                    upstream_state={}, cost_micros=1000, reservation_id="", billing="reserved", attempts=0,
                    error="", error_code="", worker_id="", content_key="", content_length=0, charged_micros=0)


async def test_concurrent_claims_take_each_job_exactly_once(sessions) -> None:  # type: ignore[no-untyped-def]
    queue = JobQueue(sessions)
    for i in range(12):
        await queue.add(job(i))

    async def worker(name: str) -> list[str]:
        got = []
        while (claimed := await queue.claim(name, 30, 3)) is not None:
            got.append(claimed.id)
        return got

    results = await asyncio.gather(*(worker(f"w{n}") for n in range(4)))
    claimed = [j for r in results for j in r]
    assert sorted(claimed) == [f"video_{i:04d}" for i in range(12)]
    assert len(set(claimed)) == 12
    first = await queue.get("video_0000")
    assert first is not None and first.status == IN_PROGRESS and first.attempts == 1 and first.started_at


async def test_expired_lease_is_reclaimed_and_the_old_holder_is_locked_out(sessions) -> None:  # type: ignore[no-untyped-def]
    now = [T0]
    queue = JobQueue(sessions, clock=lambda: now[0])
    await queue.add(job(1))
    held = await queue.claim("dead", 10, 3)
    assert held is not None
    assert await queue.claim("other", 10, 3) is None  # leased
    assert await queue.heartbeat(held.id, "dead", 10, 40)
    now[0] += dt.timedelta(seconds=11)
    taken = await queue.claim("other", 10, 3)
    assert taken is not None and taken.id == held.id and taken.attempts == 2 and taken.progress == 40
    assert not await queue.heartbeat(held.id, "dead", 10, 50)
    assert await queue.complete(held.id, "dead", "k", 1) is None
    done = await queue.complete(held.id, "other", "videos/x.mp4", 123)
    assert done is not None and done.status == COMPLETED and done.charged_micros == 1000 and done.progress == 100


async def test_a_job_whose_worker_keeps_dying_ends_failed(sessions) -> None:  # type: ignore[no-untyped-def]
    now = [T0]
    queue = JobQueue(sessions, clock=lambda: now[0])
    await queue.add(job(1))
    for _ in range(2):
        assert await queue.claim("w", 5, 2) is not None
        now[0] += dt.timedelta(seconds=6)
    assert await queue.claim("w", 5, 2) is None
    assert await queue.fail_lost(2) == 1
    lost = await queue.get("video_0001")
    assert lost is not None and lost.status == FAILED and lost.error_code == "worker_lost"


async def test_cancel_wins_over_a_running_worker_once(sessions) -> None:  # type: ignore[no-untyped-def]
    queue = JobQueue(sessions)
    await queue.add(job(1))
    await queue.add(job(2))
    assert (await queue.cancel("video_0002")).status == CANCELLED  # type: ignore[union-attr]
    held = await queue.claim("w", 30, 3)
    assert held is not None and held.id == "video_0001"
    assert (await queue.cancel(held.id)).status == CANCELLED  # type: ignore[union-attr]
    assert await queue.cancel(held.id) is None
    assert not await queue.heartbeat(held.id, "w", 30, 10)
    assert await queue.fail(held.id, "w", "x", "y") is None


async def test_requeue_gives_the_job_back_without_counting_the_attempt(sessions) -> None:  # type: ignore[no-untyped-def]
    queue = JobQueue(sessions)
    await queue.add(job(1))
    held = await queue.claim("w", 30, 3)
    assert held is not None and await queue.requeue(held.id, "w")
    again = await queue.claim("w2", 30, 3)
    assert again is not None and again.attempts == 1 and again.worker_id == "w2"


async def test_pages_are_newest_first_per_account(sessions) -> None:  # type: ignore[no-untyped-def]
    queue = JobQueue(sessions)
    for i in range(5):
        await queue.add(job(i))
    await queue.add(job(9, account="bob"))
    first, more = await queue.page("alice", limit=2)
    assert [j.id for j in first] == ["video_0004", "video_0003"] and more
    rest, more = await queue.page("alice", after=first[-1], limit=10)
    assert [j.id for j in rest] == ["video_0002", "video_0001", "video_0000"] and not more


async def test_unbilled_finds_ended_jobs_until_marked(sessions) -> None:  # type: ignore[no-untyped-def]
    now = [T0]
    queue = JobQueue(sessions, clock=lambda: now[0])
    await queue.add(job(1))
    await queue.add(job(2))
    await queue.cancel("video_0001")
    now[0] += dt.timedelta(seconds=60)
    assert [j.id for j in await queue.unbilled(dt.timedelta(seconds=30))] == ["video_0001"]
    assert await queue.mark_billed("video_0001")
    assert await queue.unbilled(dt.timedelta(seconds=30)) == []
