"""mcp_servers: MCP servers an admin registered (headers and environment values encrypted);
the log of the agent's calls to their tools; which of their tools an assistant may call

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A column with a server default: no table rebuild on SQLite, and old rows read as [].
    op.add_column(
        "assistants",
        sa.Column("mcp_tools", sa.JSON(), nullable=False, server_default="[]"),
    )
    op.create_table(
        "mcp_servers",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("name", sa.String(length=64), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("transport", sa.String(length=16), nullable=False),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("env_encrypted", sa.JSON(), nullable=False),
        sa.Column("headers_encrypted", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "mcp_tool_calls",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("server_id", sa.String(length=64), nullable=False),
        sa.Column("server_name", sa.String(length=64), nullable=False),
        sa.Column("tool", sa.String(length=200), nullable=False),
        sa.Column("assistant_id", sa.String(length=64), nullable=True),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("argument_bytes", sa.Integer(), nullable=False),
        sa.Column("result_bytes", sa.Integer(), nullable=False),
    )
    for column in ("server_id", "owner_id", "conversation_id"):
        op.create_index(f"ix_mcp_tool_calls_{column}", "mcp_tool_calls", [column])


def downgrade() -> None:
    for column in ("server_id", "owner_id", "conversation_id"):
        op.drop_index(f"ix_mcp_tool_calls_{column}", table_name="mcp_tool_calls")
    op.drop_table("mcp_tool_calls")
    op.drop_table("mcp_servers")
    with op.batch_alter_table("assistants") as batch:
        batch.drop_column("mcp_tools")
