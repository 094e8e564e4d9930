"""What the protocol front ends keep: E2B sandboxes, LibreChat sessions and files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from sandbox_analyst.store.models.base import Base, UTCDateTime, created_column


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
    started_at: Mapped[datetime] = created_column()
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
    created_at: Mapped[datetime] = created_column()


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
    created_at: Mapped[datetime] = created_column()
