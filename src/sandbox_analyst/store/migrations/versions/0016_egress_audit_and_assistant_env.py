"""egress_connections: the audit log of sandbox egress; an assistant's own egress allow-list
and the environment variables (plain and secret) its sessions get

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column: no table rebuild (see 0002 on why not on SQLite).
    for column in ("egress", "env_vars", "secret_env_vars"):
        op.add_column("assistants", sa.Column(column, sa.JSON(), nullable=True))
    op.create_table(
        "egress_connections",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("sandbox_id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=200), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("bytes_sent", sa.BigInteger(), nullable=False),
        sa.Column("bytes_received", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
    )
    op.create_index("ix_egress_connections_sandbox_id", "egress_connections", ["sandbox_id"])
    op.create_index(
        "ix_egress_connections_owner_started", "egress_connections", ["owner_id", "started_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_egress_connections_owner_started", table_name="egress_connections")
    op.drop_index("ix_egress_connections_sandbox_id", table_name="egress_connections")
    op.drop_table("egress_connections")
    with op.batch_alter_table("assistants") as batch:
        for column in ("egress", "env_vars", "secret_env_vars"):
            batch.drop_column(column)
