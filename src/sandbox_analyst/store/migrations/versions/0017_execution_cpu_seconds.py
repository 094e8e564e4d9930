"""executions.cpu_seconds: the CPU time each code run used

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column: no table rebuild (see 0002 on why not on SQLite).
    op.add_column("executions", sa.Column("cpu_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("cpu_seconds")
