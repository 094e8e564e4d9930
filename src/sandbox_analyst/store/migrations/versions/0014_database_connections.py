"""database_connections: databases the agent may query, their URLs encrypted; the audit log of
its queries; which connections an assistant may use

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column: no table rebuild (see 0002 on why not on SQLite).
    op.add_column("assistants", sa.Column("connections", sa.JSON(), nullable=True))
    op.create_table(
        "database_connections",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column(
            "owner_id",
            sa.String(length=64),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("dialect", sa.String(length=32), nullable=False),
        sa.Column("url_encrypted", sa.Text(), nullable=False),
        sa.Column("url_masked", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("owner_id", "name", name="uq_database_connections_name"),
    )
    op.create_index("ix_database_connections_owner_id", "database_connections", ["owner_id"])
    op.create_table(
        "database_queries",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("connection_name", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    for column in ("owner_id", "connection_id", "conversation_id"):
        op.create_index(f"ix_database_queries_{column}", "database_queries", [column])


def downgrade() -> None:
    for column in ("owner_id", "connection_id", "conversation_id"):
        op.drop_index(f"ix_database_queries_{column}", table_name="database_queries")
    op.drop_table("database_queries")
    op.drop_index("ix_database_connections_owner_id", table_name="database_connections")
    op.drop_table("database_connections")
    with op.batch_alter_table("assistants") as batch:
        batch.drop_column("connections")
