"""Metering: nano-USD costs, daily usage rollups, credit accounts, reservations and the credit ledger.

Revision ID: metering_0002
Revises: metering_0001
"""
import sqlalchemy as sa
from alembic import op
from tokenyard.storage.types import UTCDateTime

revision = "metering_0002"
down_revision = "metering_0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("usage_records") as batch:
        batch.add_column(sa.Column("cost_nanos", sa.BigInteger, nullable=False, server_default="0"))
    op.execute("UPDATE usage_records SET cost_nanos = cost_micros * 1000")
    op.create_table(
        "usage_daily",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("account_id", sa.String(200), primary_key=True),
        sa.Column("app_id", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("requests", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("cost_nanos", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("ix_usage_daily_account_day", "usage_daily", ["account_id", "day"])
    op.create_index("ix_usage_daily_app_day", "usage_daily", ["app_id", "day"])
    op.create_table(
        "credit_accounts",
        sa.Column("account_id", sa.String(200), primary_key=True),
        sa.Column("plan", sa.String(64), nullable=False, server_default=""),
        sa.Column("unlimited", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("period", sa.String(7), nullable=False, server_default=""),
        sa.Column("allowance_nanos", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("topup_nanos", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("reserved_nanos", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "credit_reservations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("request_id", sa.String(100), nullable=False, server_default=""),
        sa.Column("amount_nanos", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="held"),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_reservations_state_expires", "credit_reservations", ["state", "expires_at"])
    op.create_table(
        "credit_ledger",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("time", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount_nanos", sa.BigInteger, nullable=False),
        sa.Column("request_id", sa.String(100), nullable=True, unique=True),
        sa.Column("note", sa.String(200), nullable=False, server_default=""),
    )
    op.create_index("ix_ledger_account_time", "credit_ledger", ["account_id", "time"])


def downgrade() -> None:
    op.drop_table("credit_ledger")
    op.drop_table("credit_reservations")
    op.drop_table("credit_accounts")
    op.drop_table("usage_daily")
    with op.batch_alter_table("usage_records") as batch:
        batch.drop_column("cost_nanos")
