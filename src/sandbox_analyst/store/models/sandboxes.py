"""Package requests and installs, the sandbox time log and the egress audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from sandbox_analyst.store.models.base import Base, UTCDateTime, created_column, id_column


class PackageRequest(Base):
    """A package someone's code asked for that no allow-list allows: waits for an admin's
    approval (`analyst packages approve`). One row per package and version asked for; approved
    ones are allowed server-wide from then on."""

    __tablename__ = "package_requests"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_package_requests_name_version"),)

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(200), nullable=False)  # canonical (PEP 503)
    version: Mapped[str] = mapped_column(String(64), nullable=False, default="")  # "": any
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    assistant_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    times_requested: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = created_column()


class PackageInstall(Base):
    """The audit log of approved installs: every request, what became of it and what was
    fetched. Append-only, without foreign keys (the trail outlives conversations)."""

    __tablename__ = "package_installs"

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    assistant_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sandbox_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    version: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")
    wheels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = created_column()


class SandboxSession(Base):
    """The log of sandbox time: each session a server process opened, whose it was, and
    when it ended, or, for a server that stopped without ending it, when it was last seen
    alive (every process refreshes `last_seen_at` of the sessions it holds). Without foreign
    keys, as the other logs."""

    __tablename__ = "sandbox_sessions"
    __table_args__ = (Index("ix_sandbox_sessions_owner_started", "owner_id", "started_at"),)

    id: Mapped[str] = id_column()
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

    id: Mapped[str] = id_column()
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
    # Indexed for the retention sweep (`audit.retention_days`), which deletes by age.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True, nullable=False)
    duration_s: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
