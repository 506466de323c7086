"""VideoJobs: the durable job table the workers claim from.

Revision ID: videojobs_0001
Revises: base_0001
"""
import sqlalchemy as sa
from alembic import op

from tokenyard.storage.types import UTCDateTime

revision = "videojobs_0001"
down_revision = "base_0001"
branch_labels = ("videojobs",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "video_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("app_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("key_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("request_id", sa.String(100), nullable=False, server_default=""),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(200), nullable=False),
        sa.Column("upstream_model", sa.String(200), nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("size", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("progress", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error_code", sa.String(64), nullable=False, server_default=""),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("completed_at", UTCDateTime, nullable=True),
        sa.Column("worker_id", sa.String(100), nullable=False, server_default=""),
        sa.Column("lease_expires_at", UTCDateTime, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("upstream_state", sa.JSON, nullable=False),
        sa.Column("cost_micros", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("reservation_id", sa.String(100), nullable=False, server_default=""),
        sa.Column("billing", sa.String(16), nullable=False, server_default="reserved"),
        sa.Column("charged_micros", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("content_key", sa.String(300), nullable=False, server_default=""),
        sa.Column("content_length", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("ix_video_jobs_account_created", "video_jobs", ["account_id", "created_at"])
    op.create_index("ix_video_jobs_status_lease", "video_jobs", ["status", "lease_expires_at"])
    op.create_index("ix_video_jobs_billing", "video_jobs", ["billing", "status"])


def downgrade() -> None:
    op.drop_table("video_jobs")
