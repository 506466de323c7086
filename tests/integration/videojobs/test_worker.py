"""Workers end to end in one process: local renders, billing, cancel, hand-back on shutdown."""
from __future__ import annotations

import asyncio
import io
from pathlib import Path

import av
import pytest

from tests.integration.videojobs.rig import start_rig
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.videojobs.service import VideoRequest
from tokenyard.videojobs.tables import CANCELLED, COMPLETED, IN_PROGRESS, QUEUED

TINY = VideoRequest(model="local/test-pattern", prompt="a tiny test", seconds=1, size="320x240")


async def _bytes(chunks) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join([c async for c in chunks])


async def test_local_job_renders_settles_and_records_usage(tmp_path: Path, database_url: str) -> None:
    rig = await start_rig(tmp_path, url=database_url)
    try:
        job = await rig.service.submit(rig.admin, TINY)
        assert job.status == QUEUED and job.cost_micros == 1000
        done = await rig.wait(job.id)
        assert done.status == COMPLETED and done.progress == 100 and done.charged_micros == 1000
        total, chunks = await rig.service.content(rig.admin, job.id)
        data = await _bytes(chunks)
        assert total == len(data) == done.content_length
        with av.open(io.BytesIO(data)) as c:
            s = c.streams.video[0]
            assert (s.codec_context.name, s.width, s.height, s.frames) == ("h264", 320, 240, 24)
        _, part = await rig.service.content(rig.admin, job.id, offset=10, length=20)
        assert await _bytes(part) == data[10:30]
        assert rig.credits.calls == [("reserve", "admin", 1000), ("settle", f"res_{job.id}", 1000)]
        assert [(e.request_id, e.kind, e.cost_micros, e.status) for e in rig.events] == [
            (job.id, "video", 1000, "ok")]
        assert (await rig.service.queue.get(job.id)).billing == "done"  # type: ignore[union-attr]
    finally:
        await rig.videojobs.stop()


async def test_cancelling_a_running_job_releases_its_credits(tmp_path: Path) -> None:
    rig = await start_rig(tmp_path, video_render_pace=2.0)
    try:
        job = await rig.service.submit(rig.admin, TINY.__class__(**{**TINY.__dict__, "seconds": 5}))
        await rig.wait(job.id, [IN_PROGRESS])
        cancelled = await rig.service.cancel(rig.admin, job.id)
        assert cancelled.status == CANCELLED
        assert (await rig.service.cancel(rig.admin, job.id)).status == CANCELLED
        with pytest.raises(GatewayError) as info:
            await rig.service.content(rig.admin, job.id)
        assert info.value.kind is ErrorKind.CONFLICT
        assert rig.credits.calls[-1] == ("release", f"res_{job.id}") and rig.credits.balance == 10_000_000
        assert [(e.status, e.cost_micros) for e in rig.events] == [("cancelled", 0)]
        # The worker notices at its next heartbeat and frees itself for the next job.
        nxt = await rig.service.submit(rig.admin, TINY)
        assert (await rig.wait(nxt.id)).status == COMPLETED
        assert not list((tmp_path / "videos" / "videos").glob(f"{job.id}/*"))
    finally:
        await rig.videojobs.stop()


async def test_completed_job_cannot_be_cancelled(tmp_path: Path) -> None:
    rig = await start_rig(tmp_path)
    try:
        job = await rig.service.submit(rig.admin, TINY)
        await rig.wait(job.id)
        with pytest.raises(GatewayError) as info:
            await rig.service.cancel(rig.admin, job.id)
        assert info.value.kind is ErrorKind.CONFLICT
    finally:
        await rig.videojobs.stop()


async def test_short_credits_refuse_the_job_with_402(tmp_path: Path) -> None:
    rig = await start_rig(tmp_path)
    rig.credits.balance = 500
    try:
        with pytest.raises(GatewayError) as info:
            await rig.service.submit(rig.admin, TINY)
        assert info.value.kind is ErrorKind.INSUFFICIENT_QUOTA
        jobs, _ = await rig.service.list(rig.admin)
        assert jobs == []
    finally:
        await rig.videojobs.stop()


async def test_stopping_the_pool_hands_running_jobs_back(tmp_path: Path) -> None:
    rig = await start_rig(tmp_path, video_render_pace=3.0)
    job = await rig.service.submit(rig.admin, TINY)
    await rig.wait(job.id, [IN_PROGRESS])
    await rig.videojobs.stop()
    back = await rig.service.queue.get(job.id)
    assert back is not None and back.status == QUEUED and back.attempts == 0 and back.worker_id == ""


async def test_the_sweep_settles_jobs_whose_process_died_before_billing(tmp_path: Path) -> None:
    rig = await start_rig(tmp_path, video_workers=0)
    job = await rig.service.submit(rig.admin, TINY)
    queue = rig.service.queue
    assert await queue.claim("ghost", 30, 3) is not None
    assert await queue.complete(job.id, "ghost", "videos/gone.mp4", 10) is not None  # then the process died
    await rig.videojobs.stop()
    rig2 = await start_rig(tmp_path, video_lease_seconds=1.0, video_workers=1)
    rig2.credits.held[f"res_{job.id}"] = 1000
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while (await queue.get(job.id)).billing != "done":  # type: ignore[union-attr]
            assert asyncio.get_running_loop().time() < deadline, "never settled"
            await asyncio.sleep(0.1)
        assert rig2.credits.calls == [("settle", f"res_{job.id}", 1000)]
        assert [(e.request_id, e.cost_micros) for e in rig2.events] == [(job.id, 1000)]
    finally:
        await rig2.videojobs.stop()
