"""VideoJobs proto <-> domain conversions."""
from __future__ import annotations

from decimal import Decimal

from tokenyard.common.time import ts
from tokenyard.videojobs.tables import CANCELLED, COMPLETED, FAILED, IN_PROGRESS, QUEUED, VideoJob
from tokenyard.videojobs.v1 import videojobs_service_pb2 as pb

STATUS_TO_PB = {QUEUED: pb.VIDEO_STATUS_QUEUED, IN_PROGRESS: pb.VIDEO_STATUS_IN_PROGRESS,
                COMPLETED: pb.VIDEO_STATUS_COMPLETED, FAILED: pb.VIDEO_STATUS_FAILED,
                CANCELLED: pb.VIDEO_STATUS_CANCELLED}


def micros_to_usd(micros: int) -> str:
    """Micro-USD as an exact decimal string ("0.002")."""
    value = (Decimal(micros) / Decimal(1_000_000)).normalize()
    return f"{value:f}"


def job_to_pb(job: VideoJob) -> pb.Video:
    """Job row -> proto."""
    return pb.Video(
        id=job.id, model=job.model, prompt=job.prompt, status=STATUS_TO_PB[job.status], progress=job.progress,
        seconds=job.seconds, size=job.size, created_at=ts(job.created_at), completed_at=ts(job.completed_at),
        error=job.error, error_code=job.error_code, app_id=job.app_id, updated_at=ts(job.updated_at),
        charged_credits_usd=micros_to_usd(job.charged_micros) if job.status == COMPLETED else "",
        content_length=job.content_length if job.status == COMPLETED else 0)
