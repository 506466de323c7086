"""Chats: conversations, their messages and custom webhook tools.

Revision ID: chats_0001
Revises: base_0001
"""
import sqlalchemy as sa
from alembic import op

from tokenyard.storage.types import UTCDateTime

revision = "chats_0001"
down_revision = "base_0001"
branch_labels = ("chats",)
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "chats",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("app_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("title", sa.String(200), nullable=False, server_default=""),
        sa.Column("model", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_chats_account_created", "chats", ["account_id", "created_at"])
    op.create_table(
        "chat_messages",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("chat_id", sa.String(64), sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("tool_calls", sa.Text, nullable=False, server_default=""),
        sa.Column("tool_call_id", sa.String(200), nullable=False, server_default=""),
        sa.Column("tool_name", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_chat_messages_chat_seq", "chat_messages", ["chat_id", "seq"])
    op.create_table(
        "chat_tools",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("app_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("account_id", "app_id", "name", name="uq_chat_tools_scope_name"),
    )


def downgrade() -> None:
    op.drop_table("chat_tools")
    op.drop_index("ix_chat_messages_chat_seq", "chat_messages")
    op.drop_table("chat_messages")
    op.drop_index("ix_chats_account_created", "chats")
    op.drop_table("chats")
