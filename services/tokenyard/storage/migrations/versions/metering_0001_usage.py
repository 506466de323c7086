"""Metering: append-only usage records, unique per request id.

Revision ID: metering_0001
Revises: base_0001
"""
import sqlalchemy as sa
from alembic import op

from tokenyard.storage.types import UTCDateTime

revision = "metering_0001"
down_revision = "base_0001"
branch_labels = ("metering",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_records",
        sa.Column("request_id", sa.String(100), primary_key=True),
        sa.Column("time", UTCDateTime, nullable=False),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("app_id", sa.String(64), nullable=True),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("target", sa.String(200), nullable=False, server_default=""),
        sa.Column("kind", sa.String(32), nullable=False, server_default="chat"),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("estimated", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("cost_micros", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("latency_ms", sa.Float, nullable=False, server_default="0"),
        sa.Column("ttft_ms", sa.Float, nullable=False, server_default="0"),
        sa.Column("status", sa.String(32), nullable=False, server_default="ok"),
    )
    op.create_index("ix_usage_account_time", "usage_records", ["account_id", "time"])
    op.create_index("ix_usage_app_time", "usage_records", ["app_id", "time"])


def downgrade() -> None:
    op.drop_table("usage_records")
