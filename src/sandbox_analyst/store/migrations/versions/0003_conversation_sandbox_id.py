"""conversations.sandbox_id: the conversation's sandbox session, to reconnect to

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


# A nullable column added in place (no table rebuild, see 0002).
def upgrade() -> None:
    op.add_column("conversations", sa.Column("sandbox_id", sa.String(length=255), nullable=True))


def downgrade() -> None:
    op.drop_column("conversations", "sandbox_id")
