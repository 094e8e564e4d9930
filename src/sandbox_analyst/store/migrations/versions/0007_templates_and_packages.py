"""templates_and_packages: an assistant's template and approved installs; package requests
waiting for an admin; the audit log of installs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assistants") as batch:
        batch.add_column(sa.Column("template", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("allow_installs", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("allowed_packages", sa.JSON(), nullable=False, server_default="[]")
        )
    op.create_table(
        "package_requests",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.Column("assistant_id", sa.String(length=64), nullable=True),
        sa.Column("times_requested", sa.Integer(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_package_requests_name_version"),
    )
    op.create_table(
        "package_installs",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        sa.Column("assistant_id", sa.String(length=64), nullable=True),
        sa.Column("sandbox_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("wheels", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_package_installs_owner_id", "package_installs", ["owner_id"])
    op.create_index("ix_package_installs_conversation_id", "package_installs", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_package_installs_conversation_id", table_name="package_installs")
    op.drop_index("ix_package_installs_owner_id", table_name="package_installs")
    op.drop_table("package_installs")
    op.drop_table("package_requests")
    with op.batch_alter_table("assistants") as batch:
        batch.drop_column("allowed_packages")
        batch.drop_column("allow_installs")
        batch.drop_column("template")
