"""Users, their own quotas and their API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from sandbox_analyst.store.models.base import Base, UTCDateTime, created_column, id_column, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False, default="user")
    created_at: Mapped[datetime] = created_column()

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

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = created_column()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
