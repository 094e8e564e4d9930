"""Agent tasks, their steps and their files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from sandbox_analyst.store.models.base import Base, UTCDateTime, created_column, id_column


class Task(Base):
    """An agent task: a prompt run by a coding agent in a fresh sandbox of its own, its step
    log (`TaskStep`) and its result (the summary, and the files it made: `TaskFile`)."""

    __tablename__ = "tasks"

    id: Mapped[str] = id_column()
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
    created_at: Mapped[datetime] = created_column()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class TaskStep(Base):
    """One step of a task's log, in order: what the model said, a tool call and its result,
    a command waiting for the user's yes, an error."""

    __tablename__ = "task_steps"
    __table_args__ = (UniqueConstraint("task_id", "seq", name="uq_task_steps_seq"),)

    id: Mapped[str] = id_column()
    task_id: Mapped[str] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True, nullable=False
    )
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = created_column()


class TaskFile(Base):
    """A file the task created, changed or deleted in its workdir; the bytes (not for a
    deleted one) live in the blob store under `storage_key`."""

    __tablename__ = "task_files"
    __table_args__ = (UniqueConstraint("task_id", "path", name="uq_task_files_path"),)

    id: Mapped[str] = id_column()
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
    created_at: Mapped[datetime] = created_column()
