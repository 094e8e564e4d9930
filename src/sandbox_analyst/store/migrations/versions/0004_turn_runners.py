"""server_processes and messages.runner_id: which process runs a streaming turn

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-01 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


# A new table, a nullable column and an index: no table rebuild (see 0002 on why not on
# SQLite). Messages streaming before this revision have no runner; start-up treats them as
# interrupted once they are older than any turn can run.
def upgrade() -> None:
    op.create_table(
        "server_processes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("machine", sa.String(length=128), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("process_start", sa.BigInteger(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.add_column("messages", sa.Column("runner_id", sa.String(length=64), nullable=True))
    op.create_index("ix_messages_status", "messages", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_messages_status", table_name="messages")
    op.drop_column("messages", "runner_id")  # SQLite >= 3.35 drops columns in place
    op.drop_table("server_processes")
