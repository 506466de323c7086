"""Builds the VideoJobs service, its servicer and this process's worker pool from settings."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker

from tokenyard.catalog import Catalog
from tokenyard.clients.auth_cache import Authenticator
from tokenyard.common.usage import UsageEvent
from tokenyard.settings import Settings
from tokenyard.videojobs.billing import Credits
from tokenyard.videojobs.queue import JobQueue
from tokenyard.videojobs.renderers import VideoRenderers
from tokenyard.videojobs.service import AppOwnerLookup, VideoJobsService
from tokenyard.videojobs.servicer import VideoJobsServicer
from tokenyard.videojobs.settlement import Settlement
from tokenyard.videojobs.store import ObjectStore
from tokenyard.videojobs.store_url import open_store
from tokenyard.videojobs.worker import PoolConfig, WorkerPool


@dataclass
class VideoJobs:
    """The parts of the VideoJobs service in one process."""

    service: VideoJobsService
    servicer: VideoJobsServicer
    pool: WorkerPool
    store: ObjectStore
    http: httpx.AsyncClient

    async def stop(self) -> None:
        """Stop the workers (handing running jobs back), then close connections."""
        await self.pool.stop()
        await self.store.close()
        await self.http.aclose()


def build_videojobs(settings: Settings, catalog: Catalog, sessions: async_sessionmaker,
                    authenticator: Authenticator, credits: Credits,
                    recorder: Callable[[Sequence[UsageEvent]], Awaitable[int]],
                    app_owner: AppOwnerLookup | None = None) -> VideoJobs:
    """Everything wired; call `.pool.start()` to begin working jobs."""
    s = settings
    store = open_store(s.video_store, s.data_dir / "videos", s3_endpoint=s.video_s3_endpoint,
                       s3_region=s.video_s3_region, s3_access_key_id=s.video_s3_access_key_id,
                       s3_secret_access_key=s.video_s3_secret_access_key)
    http = httpx.AsyncClient(timeout=None, limits=httpx.Limits(max_connections=100))
    options = {"render_pace": s.video_render_pace, "upstream_poll_seconds": s.video_upstream_poll_seconds}
    renderers = VideoRenderers(catalog, http, options=options)
    queue = JobQueue(sessions)
    settlement = Settlement(queue, credits, recorder)
    service = VideoJobsService(catalog, authenticator, queue, store, credits, settlement, renderers,
                               app_owner=app_owner)
    pool = WorkerPool(queue, store, renderers, settlement, s.data_dir / "tmp" / "videos",
                      PoolConfig(workers=s.video_workers, lease_seconds=s.video_lease_seconds,
                                 max_attempts=s.video_max_attempts))
    return VideoJobs(service=service, servicer=VideoJobsServicer(service, on_submit=pool.wake), pool=pool,
                     store=store, http=http)
