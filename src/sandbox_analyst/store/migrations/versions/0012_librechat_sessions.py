"""librechat_sessions, librechat_files: LibreChat's Code API sessions and their files

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 04:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "librechat_sessions",
        sa.Column("id", sa.String(length=21), primary_key=True),
        sa.Column(
            "owner_id",
            sa.String(length=64),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_librechat_sessions_owner", "librechat_sessions", ["owner_id", "subject"])
    op.create_table(
        "librechat_files",
        sa.Column("id", sa.String(length=21), primary_key=True),
        sa.Column(
            "session_id",
            sa.String(length=21),
            sa.ForeignKey("librechat_sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blob_key", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_librechat_files_session_id", "librechat_files", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_librechat_files_session_id", table_name="librechat_files")
    op.drop_table("librechat_files")
    op.drop_index("ix_librechat_sessions_owner", table_name="librechat_sessions")
    op.drop_table("librechat_sessions")
