"""team mode: assistants.mode and assistants.team (roles handing off); messages.agent (the
role that answered) and messages.stop_reason (why the turn stopped)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


# New columns with a server default, no table rebuild: existing assistants stay single-agent.
def upgrade() -> None:
    op.add_column(
        "assistants",
        sa.Column("mode", sa.String(length=16), nullable=False, server_default="single"),
    )
    op.add_column("assistants", sa.Column("team", sa.JSON(), nullable=True))
    op.add_column("messages", sa.Column("agent", sa.String(length=40), nullable=True))
    op.add_column("messages", sa.Column("stop_reason", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("messages", "stop_reason")
    op.drop_column("messages", "agent")
    op.drop_column("assistants", "team")  # SQLite >= 3.35 drops columns in place
    op.drop_column("assistants", "mode")
