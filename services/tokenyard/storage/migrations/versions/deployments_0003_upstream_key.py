"""Deployments: the owner's own upstream key, sealed (tokenyard.secretbox), never stored in plaintext.

Revision ID: deployments_0003_upstream_key
Revises: deployments_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "deployments_0003_upstream_key"
down_revision = "deployments_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("upstream_key", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("upstream_key")
