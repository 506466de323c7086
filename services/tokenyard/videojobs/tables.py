"""VideoJobs tables: one row per job, the durable queue the workers claim from."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tokenyard.storage.types import Base, UTCDateTime

QUEUED, IN_PROGRESS, COMPLETED = "queued", "in_progress", "completed"
FAILED, CANCELLED = "failed", "cancelled"
TERMINAL = (COMPLETED, FAILED, CANCELLED)
# billing: reserved (credits held) -> settled | released once the job ended and metering was told.
BILLING_RESERVED, BILLING_DONE = "reserved", "done"


class VideoJob(Base):
    """A video job. `status` changes only through conditional UPDATEs, so exactly one party wins each move."""

    __tablename__ = "video_jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200))
    app_id: Mapped[str] = mapped_column(String(64), default="")
    key_id: Mapped[str] = mapped_column(String(64), default="")
    request_id: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(200))
    upstream_model: Mapped[str] = mapped_column(String(200))
    prompt: Mapped[str] = mapped_column(Text)
    seconds: Mapped[float] = mapped_column(Float)
    size: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str] = mapped_column(String(64), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    worker_id: Mapped[str] = mapped_column(String(100), default="")
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    upstream_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cost_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    reservation_id: Mapped[str] = mapped_column(String(100), default="")
    billing: Mapped[str] = mapped_column(String(16), default=BILLING_RESERVED)
    charged_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    content_key: Mapped[str] = mapped_column(String(300), default="")
    content_length: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        Index("ix_video_jobs_account_created", "account_id", "created_at"),
        Index("ix_video_jobs_status_lease", "status", "lease_expires_at"),
        Index("ix_video_jobs_billing", "billing", "status"),
    )
