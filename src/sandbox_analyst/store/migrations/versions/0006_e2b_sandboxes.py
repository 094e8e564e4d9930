"""e2b_sandboxes: sandboxes made through the E2B-compatible API

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "e2b_sandboxes",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column(
            "owner_id",
            sa.String(length=64),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("template_id", sa.String(length=128), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
    )
    op.create_index("ix_e2b_sandboxes_owner_id", "e2b_sandboxes", ["owner_id"])
    op.create_index("ix_e2b_sandboxes_owner_ended", "e2b_sandboxes", ["owner_id", "ended_at"])


def downgrade() -> None:
    op.drop_index("ix_e2b_sandboxes_owner_ended", table_name="e2b_sandboxes")
    op.drop_index("ix_e2b_sandboxes_owner_id", table_name="e2b_sandboxes")
    op.drop_table("e2b_sandboxes")
