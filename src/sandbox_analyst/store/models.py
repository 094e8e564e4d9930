"""The relational model: users, API keys, assistants, conversations, messages, files, the
append-only execution log, and the server processes running turns.

Timestamps are timezone-aware UTC everywhere (SQLite stores them naive; `UTCDateTime` puts the
zone back on the way out). JSON columns hold small structured values (tool calls, usage).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sandbox_analyst.store.ids import new_id


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


def _id_column() -> Mapped[str]:
    return mapped_column(String(64), primary_key=True, default=new_id)


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = _id_column()
    name: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False, default="user")
    created_at: Mapped[datetime] = _created()

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class UserQuota(Base):
    """A user's own quotas, overriding the server's defaults (`quotas` settings): `limits`
    maps a quota's name to its limit, or to None for no limit; a name left out takes the
    default. One row per user, gone with the user."""

    __tablename__ = "user_quotas"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    limits: Mapped[dict[str, int | None]] = mapped_column(JSON, nullable=False, default=dict)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class ApiKey(Base):
    """An API key. Only a SHA-256 of the secret is stored: keys are long random strings, so a
    fast hash is enough (no dictionary to attack) and lookups stay a single index probe."""

    __tablename__ = "api_keys"

    id: Mapped[str] = _id_column()
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = _created()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Assistant(Base):
    __tablename__ = "assistants"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_assistants_owner_name"),)

    id: Mapped[str] = _id_column()
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
    mode: Mapped[str] = mapped_column(String(16), nullable=False, default="single")
    team: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # The sandbox template its sessions are made from; NULL: the default template.
    template: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Approved installs: whether the model may ask for packages, and which ones it may have
    # without an admin's approval (besides the server's own list).
    allow_installs: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    allowed_packages: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    # The database connections (ids) its turns may query; NULL: every connection the
    # conversation's owner may use (their own and the shared ones).
    connections: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # The MCP tools it may call, as `server/tool` or `server/*` (every tool of the server).
    mcp_tools: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    # An admin's allow-list (`host:port` entries) that narrows its sessions' egress below the
    # template's; NULL: the template's as it is; []: no network.
    egress: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # Environment variables its sessions get: plain ones as they are; secret ones encrypted
    # (name -> Fernet token), never shown back, and only in its owner's own conversations.
    env_vars: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    secret_env_vars: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("uq_conversations_owner_external_key", "owner_id", "external_key", unique=True),
    )

    id: Mapped[str] = _id_column()
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
    created_at: Mapped[datetime] = _created()
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

    id: Mapped[str] = _id_column()
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
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class ServerProcess(Base):
    """A server process that runs chat turns, alive while its heartbeat is fresh. Several may
    share one database; each marks as `interrupted` only the turns of processes that are gone
    (same machine: the pid no longer runs; elsewhere: the heartbeat stopped)."""

    __tablename__ = "server_processes"

    id: Mapped[str] = _id_column()
    hostname: Mapped[str] = mapped_column(String(255), nullable=False)
    # Boot id and pid namespace: pids mean the same thing only where this is the same.
    machine: Mapped[str | None] = mapped_column(String(128), nullable=True)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    # When the kernel started the process (clock ticks since boot): a reused pid differs.
    process_start: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    started_at: Mapped[datetime] = _created()
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    # Where clients reach this process (`server.public_url`), told to clients sent here.
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)


class FileRecord(Base):
    """Metadata of an uploaded file or an artifact; the bytes live in the blob store under
    `storage_key`, never under the user's file name."""

    __tablename__ = "files"

    id: Mapped[str] = _id_column()
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
    created_at: Mapped[datetime] = _created()


class Execution(Base):
    """One piece of code that ran. Append-only: rows are never updated or deleted, and they
    deliberately carry no foreign keys so the audit trail survives deleted conversations."""

    __tablename__ = "executions"

    id: Mapped[str] = _id_column()
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
    created_at: Mapped[datetime] = _created()


class E2BSandbox(Base):
    """A sandbox made through the E2B-compatible API: who owns it, what it was made from, and
    when it ends. The live session is the sandbox layer's; this row is what the owner (and any
    other front end of theirs) can see of it, and it stays after the end as a record."""

    __tablename__ = "e2b_sandboxes"
    __table_args__ = (Index("ix_e2b_sandboxes_owner_ended", "owner_id", "ended_at"),)

    # Lowercase letters and digits only: the id is a DNS label in `<port>-<id>.<domain>`.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    template_id: Mapped[str] = mapped_column(String(128), nullable=False)
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # `metadata` is reserved by SQLAlchemy's declarative base.
    labels: Mapped[dict[str, str]] = mapped_column("metadata", JSON, nullable=False, default=dict)
    started_at: Mapped[datetime] = _created()
    end_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)


class LibreChatSession(Base):
    """A session of LibreChat's Code API: the files uploaded into it or written by code run
    in it. It belongs to a user of ours and, for callers authenticated by LibreChat's JWT, to
    one LibreChat user within (`subject`, the JWT's `sub`; "" for API-key callers)."""

    __tablename__ = "librechat_sessions"
    __table_args__ = (Index("ix_librechat_sessions_owner", "owner_id", "subject"),)

    id: Mapped[str] = mapped_column(String(21), primary_key=True)
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    subject: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    created_at: Mapped[datetime] = _created()


class LibreChatFile(Base):
    """A file of a LibreChat session: its bytes are a blob; `name` is its path relative to
    the sandbox's working directory (what the code sees under /mnt/data)."""

    __tablename__ = "librechat_files"

    id: Mapped[str] = mapped_column(String(21), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("librechat_sessions.id", ondelete="CASCADE"), index=True, nullable=False
    )
    name: Mapped[str] = mapped_column(String(1024), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    blob_key: Mapped[str] = mapped_column(String(64), nullable=False)
    content_type: Mapped[str] = mapped_column(String(255), nullable=False)
    origin: Mapped[str] = mapped_column(String(16), nullable=False)  # "upload" | "output"
    created_at: Mapped[datetime] = _created()


class PackageRequest(Base):
    """A package someone's code asked for that no allow-list allows: waits for an admin's
    approval (`analyst packages approve`). One row per package and version asked for; approved
    ones are allowed server-wide from then on."""

    __tablename__ = "package_requests"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_package_requests_name_version"),)

    id: Mapped[str] = _id_column()
    name: Mapped[str] = mapped_column(String(200), nullable=False)  # canonical (PEP 503)
    version: Mapped[str] = mapped_column(String(64), nullable=False, default="")  # "": any
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    assistant_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    times_requested: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = _created()


class PackageInstall(Base):
    """The audit log of approved installs: every request, what became of it and what was
    fetched. Append-only, without foreign keys (the trail outlives conversations)."""

    __tablename__ = "package_installs"

    id: Mapped[str] = _id_column()
    owner_id: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    assistant_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sandbox_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    version: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")
    wheels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = _created()


class SandboxSession(Base):
    """The log of sandbox time: each session a server process opened, whose it was, and
    when it ended, or, for a server that stopped without ending it, when it was last seen
    alive (every process refreshes `last_seen_at` of the sessions it holds). Without foreign
    keys, as the other logs."""

    __tablename__ = "sandbox_sessions"
    __table_args__ = (Index("ix_sandbox_sessions_owner_started", "owner_id", "started_at"),)

    id: Mapped[str] = _id_column()
    sandbox_id: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    owner_id: Mapped[str] = mapped_column(String(64), nullable=False)
    purpose: Mapped[str] = mapped_column(String(200), nullable=False)
    backend: Mapped[str] = mapped_column(String(32), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)


class EgressConnection(Base):
    """The audit log of sandbox egress: every connection a session made through the egress
    proxy, or was refused, with its bytes. Append-only, without foreign keys (the trail
    outlives conversations and users)."""

    __tablename__ = "egress_connections"
    __table_args__ = (Index("ix_egress_connections_owner_started", "owner_id", "started_at"),)

    id: Mapped[str] = _id_column()
    sandbox_id: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    owner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    purpose: Mapped[str | None] = mapped_column(String(200), nullable=True)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    host: Mapped[str] = mapped_column(String(255), nullable=False)
    port: Mapped[int] = mapped_column(Integer, nullable=False)
    path: Mapped[str | None] = mapped_column(Text, nullable=True)
    allowed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    bytes_sent: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    bytes_received: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    duration_s: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)


class Task(Base):
    """An agent task: a prompt run by a coding agent in a fresh sandbox of its own, its step
    log (`TaskStep`) and its result (the summary, and the files it made: `TaskFile`)."""

    __tablename__ = "tasks"

    id: Mapped[str] = _id_column()
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    assistant_id: Mapped[str | None] = mapped_column(
        ForeignKey("assistants.id", ondelete="SET NULL"), nullable=True
    )
    prompt: Mapped[str] = mapped_column(Text, nullable=False)
    template: Mapped[str] = mapped_column(String(100), nullable=False)
    permission: Mapped[str] = mapped_column(String(16), nullable=False)  # allow | confirm
    max_steps: Mapped[int] = mapped_column(Integer, nullable=False)
    timeout_s: Mapped[float] = mapped_column(Float, nullable=False)
    # running | complete | max_steps | timed_out | failed | cancelled | interrupted
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="running")
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The ServerProcess running it (no foreign key, as on messages): a task left `running`
    # by a process that is gone was interrupted.
    runner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = _created()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class TaskStep(Base):
    """One step of a task's log, in order: what the model said, a tool call and its result,
    a command waiting for the user's yes, an error."""

    __tablename__ = "task_steps"
    __table_args__ = (UniqueConstraint("task_id", "seq", name="uq_task_steps_seq"),)

    id: Mapped[str] = _id_column()
    task_id: Mapped[str] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True, nullable=False
    )
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = _created()


class TaskFile(Base):
    """A file the task created, changed or deleted in its workdir; the bytes (not for a
    deleted one) live in the blob store under `storage_key`."""

    __tablename__ = "task_files"
    __table_args__ = (UniqueConstraint("task_id", "path", name="uq_task_files_path"),)

    id: Mapped[str] = _id_column()
    task_id: Mapped[str] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True, nullable=False
    )
    path: Mapped[str] = mapped_column(String(1024), nullable=False)
    change: Mapped[str] = mapped_column(String(16), nullable=False)  # created|modified|deleted
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    media_type: Mapped[str] = mapped_column(String(128), nullable=False)
    storage_key: Mapped[str | None] = mapped_column(String(128), unique=True, nullable=True)
    diff: Mapped[str | None] = mapped_column(Text, nullable=True)  # of a changed text input
    created_at: Mapped[datetime] = _created()


class DatabaseConnection(Base):
    """A database the agent may query (read-only), registered by its owner or shared by an
    admin with everyone. The URL, credentials included, is stored only encrypted
    (`url_encrypted`, Fernet); `url_masked` is what is ever shown of it."""

    __tablename__ = "database_connections"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_database_connections_name"),)

    id: Mapped[str] = _id_column()
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    dialect: Mapped[str] = mapped_column(String(32), nullable=False)
    url_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    url_masked: Mapped[str] = mapped_column(Text, nullable=False)
    shared: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class DatabaseQuery(Base):
    """The audit log of the agent's database access: every query, table listing and table
    description, who asked and what became of it. Append-only, without foreign keys (the
    trail outlives connections and conversations)."""

    __tablename__ = "database_queries"

    id: Mapped[str] = _id_column()
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
    created_at: Mapped[datetime] = _created()


class McpServer(Base):
    """An MCP server an admin registered, whose tools assistants may be allowed to call: a
    command the server runs (`stdio`: `command`, `args`, `env`) or a streamable HTTP `url`
    with `headers`. Header and environment values are stored only encrypted (name -> Fernet
    token); their names are what is ever shown of them."""

    __tablename__ = "mcp_servers"

    id: Mapped[str] = _id_column()
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
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class McpToolCall(Base):
    """The log of the agent's calls to MCP tools: which tool, for whom, how long, what became
    of it and how big the arguments and the result were. Append-only, without foreign keys
    (the trail outlives servers and conversations); `arguments` is truncated."""

    __tablename__ = "mcp_tool_calls"

    id: Mapped[str] = _id_column()
    server_id: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    server_name: Mapped[str] = mapped_column(String(64), nullable=False)
    tool: Mapped[str] = mapped_column(String(200), nullable=False)
    assistant_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    owner_id: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)  # ok, error, timeout...
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    arguments: Mapped[str] = mapped_column(Text, nullable=False, default="")
    argument_bytes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    result_bytes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
