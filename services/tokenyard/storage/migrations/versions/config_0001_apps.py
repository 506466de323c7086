"""Config: apps, their AI configuration, and the change feed caches follow.

Revision ID: config_0001
Revises: base_0001
"""
import sqlalchemy as sa
from alembic import op
from tokenyard.storage.types import JSONList, UTCDateTime

revision = "config_0001"
down_revision = "base_0001"
branch_labels = ("config",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "apps",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False, index=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "app_configs",
        sa.Column("app_id", sa.String(64), sa.ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("default_model", sa.String(200), nullable=False, server_default=""),
        sa.Column("max_tokens_per_request", sa.Integer, nullable=False, server_default="0"),
        sa.Column("allowed_models", JSONList, nullable=False),
        sa.Column("rpm", sa.Integer, nullable=False, server_default="0"),
        sa.Column("tpm", sa.Integer, nullable=False, server_default="0"),
        sa.Column("enabled_tools", JSONList, nullable=False),
        sa.Column("custom_tools_json", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "config_changes",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_config_changes_created_at", "config_changes", ["created_at"])


def downgrade() -> None:
    op.drop_table("config_changes")
    op.drop_table("app_configs")
    op.drop_table("apps")
