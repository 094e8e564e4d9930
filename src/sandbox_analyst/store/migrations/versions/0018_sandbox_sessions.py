"""sandbox_sessions: the log of sandbox time, each session with its owner and lifetime

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_sessions",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("sandbox_id", sa.String(length=200), nullable=False, unique=True),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("backend", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
    )
    op.create_index(
        "ix_sandbox_sessions_owner_started", "sandbox_sessions", ["owner_id", "started_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_sandbox_sessions_owner_started", table_name="sandbox_sessions")
    op.drop_table("sandbox_sessions")
