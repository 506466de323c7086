"""Apps: `require_gateway_key` flag for passthrough routes (column on the Config branch's app_configs).

Revision ID: deployments_0002
Revises: deployments_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "deployments_0002"
down_revision = "deployments_0001"
branch_labels = None
depends_on = "config_0001"


def upgrade() -> None:
    with op.batch_alter_table("app_configs") as batch:
        batch.add_column(sa.Column("require_gateway_key", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("app_configs") as batch:
        batch.drop_column("require_gateway_key")
