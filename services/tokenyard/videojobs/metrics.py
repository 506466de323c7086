"""Prometheus metrics of the video workers."""
from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from tokenyard.monitoring.metrics import video_job_finished
from tokenyard.storage.types import utcnow

VIDEO_CLAIMS = Counter("tokenyard_video_job_claims_total",
                       "Video job claims (retry = taken over after a lost lease).", ["attempt"])
VIDEO_RUNNING = Gauge("tokenyard_video_jobs_running", "Video jobs being rendered in this process.")
VIDEO_RENDER_SECONDS = Histogram("tokenyard_video_render_seconds",
                                 "Wall time from claim to result, per attempt.", ["model"],
                                 buckets=(1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 3600))


def job_ended(job: Any, status: str) -> None:
    """Count a job that ended (completed, failed, cancelled) and its time since submission."""
    video_job_finished(status, max((utcnow() - job.created_at).total_seconds(), 0.0))
