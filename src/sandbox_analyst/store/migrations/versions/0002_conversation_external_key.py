"""conversations.external_key: what another front end calls a conversation

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


# A new nullable column and a unique index, with no table rebuild: SQLite would otherwise
# copy the table, and dropping the old copy with foreign keys on would cascade into messages.
def upgrade() -> None:
    op.add_column("conversations", sa.Column("external_key", sa.String(length=255), nullable=True))
    op.create_index(
        "uq_conversations_owner_external_key",
        "conversations",
        ["owner_id", "external_key"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_conversations_owner_external_key", table_name="conversations")
    op.drop_column("conversations", "external_key")  # SQLite >= 3.35 drops columns in place
