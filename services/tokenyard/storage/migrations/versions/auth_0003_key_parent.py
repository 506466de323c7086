"""Auth: the key that created a key (`parent_key_id`), so revoking a key revokes the keys it minted.

Revision ID: auth_0003_key_parent
Revises: auth_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "auth_0003_key_parent"
down_revision = "auth_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("parent_key_id", sa.String(64), nullable=True))
        batch.create_index("ix_api_keys_parent_key_id", ["parent_key_id"])


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index("ix_api_keys_parent_key_id")
        batch.drop_column("parent_key_id")
