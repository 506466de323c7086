"""Auth: accounts and API keys.

Revision ID: auth_0001
Revises: base_0001
"""
import sqlalchemy as sa
from alembic import op

from tokenyard.storage.types import JSONList, UTCDateTime

revision = "auth_0001"
down_revision = "base_0001"
branch_labels = ("auth",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("plan", sa.String(64), nullable=False, server_default=""),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(200), sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", JSONList, nullable=False),
        sa.Column("app_id", sa.String(64), nullable=True, index=True),
        sa.Column("deployment_id", sa.String(64), nullable=True, index=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_used_at", UTCDateTime, nullable=True),
        sa.Column("expires_at", UTCDateTime, nullable=True),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.Column("rpm", sa.Integer, nullable=False, server_default="0"),
        sa.Column("tpm", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_table("accounts")
