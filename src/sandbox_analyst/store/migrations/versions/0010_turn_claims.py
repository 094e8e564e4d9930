"""one streaming turn per conversation, claimed in the database; cancel requests; replicas

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

_STREAMING = sa.text("status = 'streaming'")


# Nullable columns and an index: no table rebuild (see 0002 on why not on SQLite).
def upgrade() -> None:
    op.add_column(
        "messages",
        sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "conversations", sa.Column("sandbox_runner_id", sa.String(length=64), nullable=True)
    )
    op.add_column("server_processes", sa.Column("url", sa.String(length=2048), nullable=True))
    # Before the index can hold: a conversation left with several streaming turns (servers
    # killed mid-turn before this revision) keeps the newest one streaming; the sweep of
    # dead runners ends that one as usual.
    op.execute(
        """
        UPDATE messages SET status = 'interrupted',
            error = 'the server stopped during the answer'
        WHERE status = 'streaming' AND EXISTS (
            SELECT 1 FROM messages AS newer
            WHERE newer.conversation_id = messages.conversation_id
              AND newer.status = 'streaming' AND newer.seq > messages.seq
        )
        """
    )
    op.create_index(
        "uq_messages_one_streaming",
        "messages",
        ["conversation_id"],
        unique=True,
        sqlite_where=_STREAMING,
        postgresql_where=_STREAMING,
    )


def downgrade() -> None:
    op.drop_index("uq_messages_one_streaming", table_name="messages")
    op.drop_column("server_processes", "url")
    op.drop_column("conversations", "sandbox_runner_id")
    op.drop_column("messages", "cancel_requested_at")
