"""Indexes on the audit logs' times, for the retention sweep that deletes by age

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 01:35:00
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_egress_connections_started_at", "egress_connections", "started_at"),
    ("ix_database_queries_created_at", "database_queries", "created_at"),
    ("ix_mcp_tool_calls_started_at", "mcp_tool_calls", "started_at"),
)


def upgrade() -> None:
    for name, table, column in _INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _column in _INDEXES:
        op.drop_index(name, table_name=table)
