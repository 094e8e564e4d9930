"""What the agent's server-side tools use and log: database connections and their queries, MCP
servers and their tool calls."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from sandbox_analyst.store.models.base import Base, UTCDateTime, created_column, id_column, utcnow


class DatabaseConnection(Base):
    """A database the agent may query (read-only), registered by its owner or shared by an
    admin with everyone. The URL, credentials included, is stored only encrypted
    (`url_encrypted`, Fernet); `url_masked` is what is ever shown of it."""

    __tablename__ = "database_connections"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_database_connections_name"),)

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    dialect: Mapped[str] = mapped_column(String(32), nullable=False)
    url_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    url_masked: Mapped[str] = mapped_column(Text, nullable=False)
    shared: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class DatabaseQuery(Base):
    """The audit log of the agent's database access: every query, table listing and table
    description, who asked and what became of it. Append-only, without foreign keys (the
    trail outlives connections and conversations)."""

    __tablename__ = "database_queries"

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    connection_id: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    connection_name: Mapped[str] = mapped_column(String(64), nullable=False)
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    operation: Mapped[str] = mapped_column(String(16), nullable=False)  # query, tables, describe
    statement: Mapped[str] = mapped_column(Text, nullable=False, default="")
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)  # ok, error, timeout...
    rows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    truncated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Indexed for the retention sweep (`audit.retention_days`), which deletes by age.
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, index=True, nullable=False
    )


class McpServer(Base):
    """An MCP server an admin registered, whose tools assistants may be allowed to call: a
    command the server runs (`stdio`: `command`, `args`, `env`) or a streamable HTTP `url`
    with `headers`. Header and environment values are stored only encrypted (name -> Fernet
    token); their names are what is ever shown of them."""

    __tablename__ = "mcp_servers"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    transport: Mapped[str] = mapped_column(String(16), nullable=False)  # stdio, http
    command: Mapped[str | None] = mapped_column(Text, nullable=True)
    args: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    env_encrypted: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False, default=dict)
    headers_encrypted: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class McpToolCall(Base):
    """The log of the agent's calls to MCP tools: which tool, for whom, how long, what became
    of it and how big the arguments and the result were. Append-only, without foreign keys
    (the trail outlives servers and conversations); `arguments` is truncated."""

    __tablename__ = "mcp_tool_calls"

    id: Mapped[str] = id_column()
    server_id: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    server_name: Mapped[str] = mapped_column(String(64), nullable=False)
    tool: Mapped[str] = mapped_column(String(200), nullable=False)
    assistant_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    owner_id: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    # Indexed for the retention sweep (`audit.retention_days`), which deletes by age.
    started_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, index=True, nullable=False
    )
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)  # ok, error, timeout...
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    arguments: Mapped[str] = mapped_column(Text, nullable=False, default="")
    argument_bytes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    result_bytes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
