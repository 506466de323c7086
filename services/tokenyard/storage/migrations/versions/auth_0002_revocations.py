"""Auth: the key revocation feed gateway processes poll to drop revoked keys from their caches.

Revision ID: auth_0002
Revises: auth_0001
"""
import sqlalchemy as sa
from alembic import op
from tokenyard.storage.types import UTCDateTime

revision = "auth_0002"
down_revision = "auth_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_revocations",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_key_revocations_created_at", "key_revocations", ["created_at"])


def downgrade() -> None:
    op.drop_table("key_revocations")
