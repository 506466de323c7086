"""Tells Metering how an ended job went: settle and record usage when completed, release otherwise."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from tokenyard.common.usage import UsageEvent
from tokenyard.errors import GatewayError
from tokenyard.storage.types import utcnow
from tokenyard.videojobs.billing import Credits, finished_reservation
from tokenyard.videojobs.queue import JobQueue
from tokenyard.videojobs.tables import BILLING_DONE, CANCELLED, COMPLETED, VideoJob

log = logging.getLogger(__name__)
Recorder = Callable[[Sequence[UsageEvent]], Awaitable[int]]


def usage_event(job: VideoJob) -> UsageEvent:
    """The job's one usage event (request id = job id, so recording it twice stores it once; the caller's
    X-Request-Id, kept on the job, is only its correlation id)."""
    ended = job.completed_at or utcnow()
    status = {COMPLETED: "ok", CANCELLED: "cancelled"}.get(job.status, "error")
    return UsageEvent(request_id=job.id, time=ended, account_id=job.account_id, model=job.model,
                      app_id=job.app_id, key_id=job.key_id, target=job.provider, kind="video",
                      cost_micros=job.charged_micros if job.status == COMPLETED else 0,
                      latency_ms=max(0.0, (ended - job.created_at).total_seconds() * 1000), status=status,
                      client_request_id=job.request_id if job.request_id != job.id else "")


class Settlement:
    """Idempotent end-of-job accounting; whatever fails is retried by the workers' sweep."""

    def __init__(self, queue: JobQueue, credits: Credits, recorder: Recorder) -> None:
        self._queue = queue
        self._credits = credits
        self._record = recorder

    async def _credits_step(self, job: VideoJob) -> None:
        try:
            if job.status == COMPLETED:
                await self._credits.settle(job.reservation_id, job.charged_micros)
            else:
                await self._credits.release(job.reservation_id)
        except GatewayError as err:
            if not finished_reservation(err):
                raise

    async def finish(self, job: VideoJob) -> bool:
        """Settle or release the job's credits and record its usage; True when done (or already done)."""
        if job.billing == BILLING_DONE:
            return True
        try:
            await self._credits_step(job)
            await self._record([usage_event(job)])
        except Exception:  # noqa: BLE001 - retried by the sweep; the job itself is already final
            log.warning("settling video job %s failed; will retry", job.id, exc_info=True)
            return False
        await self._queue.mark_billed(job.id)
        return True
