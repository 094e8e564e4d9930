"""Assistants, conversations and their messages, files, the append-only execution log, and the
server processes running turns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sandbox_analyst.store.models.base import Base, UTCDateTime, created_column, id_column, utcnow


class Assistant(Base):
    __tablename__ = "assistants"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_assistants_owner_name"),)

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    instructions: Mapped[str] = mapped_column(Text, nullable=False, default="")
    provider: Mapped[str | None] = mapped_column(String(32), nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    tools: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    libraries: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    timeout_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    memory_mb: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_iterations: Mapped[int | None] = mapped_column(Integer, nullable=True)
    visibility: Mapped[str] = mapped_column(String(16), nullable=False, default="private")
    # "single" (one agent) or "team" (roles handing off); `team`: its roles and limits (see
    # agent/team/spec.py), None for the default team.
    mode: Mapped[str] = mapped_column(
        String(16), nullable=False, default="single", server_default="single"
    )
    team: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # The sandbox template its sessions are made from; NULL: the default template.
    template: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Approved installs: whether the model may ask for packages, and which ones it may have
    # without an admin's approval (besides the server's own list).
    allow_installs: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    allowed_packages: Mapped[list[str]] = mapped_column(
        JSON, nullable=False, default=list, server_default="[]"
    )
    # The database connections (ids) its turns may query; NULL: every connection the
    # conversation's owner may use (their own and the shared ones).
    connections: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # The MCP tools it may call, as `server/tool` or `server/*` (every tool of the server).
    mcp_tools: Mapped[list[str]] = mapped_column(
        JSON, nullable=False, default=list, server_default="[]"
    )
    # An admin's allow-list (`host:port` entries) that narrows its sessions' egress below the
    # template's; NULL: the template's as it is; []: no network.
    egress: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # Environment variables its sessions get: plain ones as they are; secret ones encrypted
    # (name -> Fernet token), never shown back, and only in its owner's own conversations.
    env_vars: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    secret_env_vars: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("uq_conversations_owner_external_key", "owner_id", "external_key", unique=True),
    )

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    # A conversation outlives its assistant (the owner may delete a public assistant that
    # other people chatted with); it just loses the link.
    assistant_id: Mapped[str | None] = mapped_column(
        ForeignKey("assistants.id", ondelete="SET NULL"), index=True, nullable=True
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    # What another front end calls this conversation (e.g. LibreChat's conversation id sent
    # to the OpenAI-compatible API); unique per owner, NULL for conversations made here.
    external_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The id of the conversation's sandbox session, kept so that another server process can
    # reconnect to it (a remote backend's sessions outlive the process that made them).
    sandbox_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The ServerProcess that made that session: with the local backend only it can reach it,
    # so the conversation is pinned to it while it lives (see docs/deploy.md, "Replicas").
    sandbox_runner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_messages_seq"),
        # Start-up looks for the turns still `streaming` (see ServerProcess).
        Index("ix_messages_status", "status"),
        # One turn at a time per conversation, across every server process: the streaming
        # assistant message is the turn's claim, taken by its insert and released when its
        # status changes (the turn ends, or its process is found dead).
        Index(
            "uq_messages_one_streaming",
            "conversation_id",
            unique=True,
            sqlite_where=text("status = 'streaming'"),
            postgresql_where=text("status = 'streaming'"),
        ),
    )

    id: Mapped[str] = id_column()
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True, nullable=False
    )
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False, default="")
    tool_calls: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    tool_results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    artifact_ids: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="complete")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The ServerProcess running the turn while it is `streaming` (no foreign key: the process
    # row goes when the process ends, the message stays).
    runner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # A team turn's answering role, and why a turn stopped ("terminate", "max_messages"...).
    agent: Mapped[str | None] = mapped_column(String(40), nullable=True)
    stop_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Set by any process to cancel this streaming turn; its runner polls for it.
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class ServerProcess(Base):
    """A server process that runs chat turns, alive while its heartbeat is fresh. Several may
    share one database; each marks as `interrupted` only the turns of processes that are gone
    (same machine: the pid no longer runs; elsewhere: the heartbeat stopped)."""

    __tablename__ = "server_processes"

    id: Mapped[str] = id_column()
    hostname: Mapped[str] = mapped_column(String(255), nullable=False)
    # Boot id and pid namespace: pids mean the same thing only where this is the same.
    machine: Mapped[str | None] = mapped_column(String(128), nullable=True)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    # When the kernel started the process (clock ticks since boot): a reused pid differs.
    process_start: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    started_at: Mapped[datetime] = created_column()
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    # Where clients reach this process (`server.public_url`), told to clients sent here.
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)


class FileRecord(Base):
    """Metadata of an uploaded file or an artifact; the bytes live in the blob store under
    `storage_key`, never under the user's file name."""

    __tablename__ = "files"

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True, nullable=True
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    media_type: Mapped[str] = mapped_column(String(128), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="upload")
    storage_key: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    created_at: Mapped[datetime] = created_column()


class Execution(Base):
    """One piece of code that ran. Append-only: rows are never updated or deleted, and they
    deliberately carry no foreign keys so the audit trail survives deleted conversations."""

    __tablename__ = "executions"

    id: Mapped[str] = id_column()
    conversation_id: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    owner_id: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # CPU time the code used (its finished subprocesses included); NULL where the backend
    # cannot tell (E2B) and on runs stored before it was recorded.
    cpu_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    stdout: Mapped[str] = mapped_column(Text, nullable=False, default="")
    stderr: Mapped[str] = mapped_column(Text, nullable=False, default="")
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    truncated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = created_column()
