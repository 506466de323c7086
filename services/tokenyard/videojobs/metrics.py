"""Recording a video job's end (the metrics themselves live in monitoring/metrics.py)."""
from __future__ import annotations

from typing import Any

from tokenyard.monitoring.metrics import video_job_finished
from tokenyard.storage.types import utcnow


def job_ended(job: Any, status: str) -> None:
    """Count a job that ended (completed, failed, cancelled) and its time since submission."""
    video_job_finished(status, max((utcnow() - job.created_at).total_seconds(), 0.0))
