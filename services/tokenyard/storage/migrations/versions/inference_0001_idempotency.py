"""Inference: stored answers of requests sent with an `Idempotency-Key`, per account, kept 24 hours.

Revision ID: inference_0001_idempotency
Revises: base_0001
"""
import sqlalchemy as sa
from alembic import op
from tokenyard.storage.types import UTCDateTime

revision = "inference_0001_idempotency"
down_revision = "base_0001"
branch_labels = ("inference",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("account_id", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("response", sa.LargeBinary, nullable=True),
        sa.Column("headers", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("locked_until", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_expires_at", "idempotency_keys")
    op.drop_table("idempotency_keys")
