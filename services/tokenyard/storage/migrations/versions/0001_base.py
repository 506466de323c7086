"""Root of every service's migration branch.

Revision ID: base_0001
Revises:
"""

revision = "base_0001"
down_revision = None
branch_labels = ("base",)
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
