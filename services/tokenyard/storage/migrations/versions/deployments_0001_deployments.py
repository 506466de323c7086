"""Deployments: self-hosted model instances and the keys bound to them.

Revision ID: deployments_0001
Revises: base_0001
"""
import sqlalchemy as sa
from alembic import op
from tokenyard.storage.types import UTCDateTime

revision = "deployments_0001"
down_revision = "base_0001"
branch_labels = ("deployments",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("upstream_kind", sa.String(32), nullable=False),
        sa.Column("base_url", sa.Text, nullable=False),
        sa.Column("api_key_env", sa.String(200), nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("hours", sa.Float, nullable=False, server_default="0"),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("ready_at", UTCDateTime, nullable=True),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.Column("next_check_at", UTCDateTime, nullable=False),
        sa.Column("checks", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("default_key_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("pending_secret", sa.String(200), nullable=True),
        sa.Column("keys_revoked", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_deployments_owner", "deployments", ["owner"])
    op.create_index("ix_deployments_state", "deployments", ["state"])
    op.create_index("ix_deployments_ends_at", "deployments", ["ends_at"])
    op.create_index("ix_deployments_next_check_at", "deployments", ["next_check_at"])
    op.create_table(
        "deployment_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("deployment_id", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_deployment_keys_deployment_id", "deployment_keys", ["deployment_id"])


def downgrade() -> None:
    op.drop_table("deployment_keys")
    op.drop_table("deployments")
