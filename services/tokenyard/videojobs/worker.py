"""Video workers: claim jobs from the queue, render them off the event loop, store the MP4, settle credits.

A worker holds a job through a lease it renews with every heartbeat (which also stores progress). When
the heartbeat finds the job cancelled or taken over, the render is stopped. A worker that dies simply
stops renewing; once the lease expires another worker claims the job again.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenyard.errors import GatewayError
from tokenyard.monitoring.metrics import VIDEO_CLAIMS, VIDEO_RENDER_SECONDS, VIDEO_RUNNING, set_video_queue
from tokenyard.videojobs.metrics import job_ended
from tokenyard.videojobs.queue import JobQueue
from tokenyard.videojobs.renderers import RenderJob, VideoRenderers
from tokenyard.videojobs.settlement import Settlement
from tokenyard.videojobs.store import ObjectStore
from tokenyard.videojobs.tables import VideoJob

log = logging.getLogger(__name__)


@dataclass
class PoolConfig:
    """How a pool works: tasks, lease length, retries and how often to look for work."""

    workers: int = 2
    lease_seconds: float = 30.0
    max_attempts: int = 3
    idle_seconds: float = 0.5
    depth_seconds: float = 1.0
    """How often the pool reports the queue depth (tokenyard_video_queue_depth)."""


class _Held:
    """A job a worker holds: its live progress and whether it was lost (cancelled or taken over)."""

    def __init__(self, job: VideoJob) -> None:
        self.job = job
        self.progress = 0
        self.lost = False

    def set_progress(self, pct: int) -> None:
        self.progress = max(self.progress, min(99, int(pct)))


class WorkerPool:
    """`workers` concurrent jobs in this process; any number of processes may run pools on one database."""

    def __init__(self, queue: JobQueue, store: ObjectStore, renderers: VideoRenderers, settlement: Settlement,
                 scratch: Path, config: PoolConfig) -> None:
        self._queue, self._store, self._renderers = queue, store, renderers
        self._settlement, self._scratch, self._cfg = settlement, scratch, config
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._wake = asyncio.Event()

    def start(self) -> None:
        """Start the worker tasks and the sweeper."""
        self._scratch.mkdir(parents=True, exist_ok=True)
        for i in range(self._cfg.workers):
            self._tasks.append(asyncio.create_task(self._loop(), name=f"video-worker-{i}"))
        if self._cfg.workers:
            self._tasks.append(asyncio.create_task(self._sweep(), name="video-sweeper"))
        self._tasks.append(asyncio.create_task(self._report_depth(), name="video-queue-depth"))

    def wake(self) -> None:
        """Look for work now (a job was just submitted in this process)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop; jobs being rendered go back to the queue for another worker."""
        self._stopping = True
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    async def _idle(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._cfg.idle_seconds)
        self._wake.clear()

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                job = await self._queue.claim(self.worker_id, self._cfg.lease_seconds, self._cfg.max_attempts)
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
                log.warning("claiming a video job failed", exc_info=True)
                job = None
            if job is None:
                await self._idle()
                continue
            try:
                await self.run(job)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the job's lease expires and it is retried; the worker lives on
                log.exception("video worker failed on job %s; its lease will expire and it is retried", job.id)

    async def _report_depth(self) -> None:
        """Every VideoJobs process reports the shared queue's depth (so dashboards take the max, not the sum)."""
        while not self._stopping:
            try:
                set_video_queue(*await self._queue.depth())
            except Exception:  # noqa: BLE001 - a database hiccup leaves the last value; the next tick retries
                log.debug("reading the video queue depth failed", exc_info=True)
            await asyncio.sleep(self._cfg.depth_seconds)

    async def _sweep(self) -> None:
        while not self._stopping:
            await asyncio.sleep(max(1.0, self._cfg.lease_seconds))
            with contextlib.suppress(Exception):
                await self._queue.fail_lost(self._cfg.max_attempts)
                for job in await self._queue.unbilled(dt.timedelta(seconds=self._cfg.lease_seconds)):
                    await self._settlement.finish(job)

    async def _heartbeat(self, held: _Held, render: asyncio.Task[Any], done: asyncio.Event) -> None:
        """Renew the lease until `done` is set. Never cancelled mid-write: a database write interrupted by
        cancellation can leave its connection holding SQLite's write lock, which stalls every writer."""
        interval = min(0.5, self._cfg.lease_seconds / 3)
        while not done.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), interval)
                return
            try:
                ok = await asyncio.shield(self._queue.heartbeat(held.job.id, self.worker_id,
                                                                self._cfg.lease_seconds, held.progress))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - try again next beat; the lease covers a few misses
                log.warning("heartbeat of video job %s failed", held.job.id, exc_info=True)
                continue
            if not ok:
                held.lost = True
                render.cancel()
                return

    async def run(self, job: VideoJob) -> None:
        """Render one claimed job to completion, failure, or hand-back."""
        held = _Held(job)
        out = self._scratch / f"{job.id}.{uuid.uuid4().hex[:8]}.mp4"
        width, height = (int(x) for x in job.size.split("x"))

        async def checkpoint(state: dict[str, Any]) -> None:
            await self._queue.checkpoint(job.id, self.worker_id, state)

        render_job = RenderJob(job_id=job.id, prompt=job.prompt, seconds=job.seconds, width=width,
                               height=height, out=out, progress=held.set_progress, checkpoint=checkpoint,
                               state=dict(job.upstream_state or {}))
        log.info("video job %s claimed by %s (attempt %d)", job.id, self.worker_id, job.attempts)
        VIDEO_CLAIMS.labels("first" if job.attempts <= 1 else "retry").inc()
        VIDEO_RUNNING.inc()
        started = time.monotonic()
        try:
            renderer = self._renderers.renderer(job.provider)
            target = self._renderers.target(job.provider, job.upstream_model)
            render = asyncio.create_task(renderer.render(target, render_job))
            rendered = asyncio.Event()
            beat = asyncio.create_task(self._heartbeat(held, render, rendered))
            try:
                await render
            finally:
                rendered.set()
                with contextlib.suppress(Exception):
                    await asyncio.shield(beat)  # let a write in flight finish before the next one starts
            await self._finish(job, out)
        except asyncio.CancelledError:
            if not held.lost:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._queue.requeue(job.id, self.worker_id))
                raise
            log.info("video job %s stopped: cancelled or taken over", job.id)
        except GatewayError as err:
            await self._failed(job, err.metadata.get("error_code") or "video_generation_failed", err.message)
        except Exception as exc:  # noqa: BLE001 - a job must end failed, never stuck
            log.exception("video job %s crashed", job.id)
            await self._failed(job, "internal_error", f"video generation failed: {type(exc).__name__}")
        finally:
            out.unlink(missing_ok=True)
            VIDEO_RUNNING.dec()
            VIDEO_RENDER_SECONDS.labels(job.model).observe(time.monotonic() - started)

    async def _finish(self, job: VideoJob, out: Path) -> None:
        key = f"videos/{job.id}/{uuid.uuid4().hex[:12]}.mp4"  # unique per holder: a stale one can't clobber
        size = await self._store.put_file(key, out)
        done = await self._queue.complete(job.id, self.worker_id, key, size)
        if done is None:
            await self._store.delete(key)
            log.info("video job %s finished after it was cancelled or taken over; result dropped", job.id)
            return
        log.info("video job %s completed (%d bytes)", job.id, size)
        job_ended(done, "completed")
        await self._settlement.finish(done)

    async def _failed(self, job: VideoJob, code: str, message: str) -> None:
        failed = await self._queue.fail(job.id, self.worker_id, code, message)
        if failed is not None:
            log.info("video job %s failed: %s", job.id, message)
            job_ended(failed, "failed")
            await self._settlement.finish(failed)
