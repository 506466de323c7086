"""Apps: `allow_unauthenticated_passthrough`, the per-app opt-in to passthrough calls without a tokenyard key.

Revision ID: config_0002_open_passthrough
Revises: config_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "config_0002_open_passthrough"
down_revision = "config_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_configs") as batch:
        batch.add_column(sa.Column("allow_unauthenticated_passthrough", sa.Boolean, nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("app_configs") as batch:
        batch.drop_column("allow_unauthenticated_passthrough")
