"""Users and their API keys.

A key is `sa_` + 43 url-safe random characters. It is shown once when created; the database
keeps only its SHA-256 and a short prefix for people to recognise it in listings.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from sandbox_analyst.service.errors import Conflict, NotFound, Unauthorized, ValidationError
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.text import check_name
from sandbox_analyst.store import ApiKey, Database, User, looks_like_id, utcnow

KEY_PREFIX = "sa_"
# Writing `last_used_at` on every request would turn every read into a write; a minute of
# precision is plenty for "when was this key last used".
_LAST_USED_PRECISION = timedelta(minutes=1)
LOCAL_ADMIN_NAME = "local"


@dataclass(frozen=True)
class CreatedKey:
    """A new key: `secret` is the only time the full key is ever available."""

    record: ApiKey
    secret: str


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class UserService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_user(self, name: str, *, admin: bool = False) -> User:
        name = check_name(name, field="name", max_length=100)
        user = User(name=name, role="admin" if admin else "user")
        try:
            async with self._db.session() as session:
                session.add(user)
        except IntegrityError:
            raise Conflict(f"a user named {name!r} already exists", field="name") from None
        return user

    async def count_users(self) -> int:
        async with self._db.session() as session:
            return await session.scalar(select(func.count()).select_from(User)) or 0

    async def list_users(self) -> list[User]:
        async with self._db.session() as session:
            return list(await session.scalars(select(User).order_by(User.created_at)))

    async def get_user(self, id_or_name: str) -> User:
        async with self._db.session() as session:
            user = await session.scalar(select(User).where(User.name == id_or_name))
            if user is None and looks_like_id(id_or_name):
                user = await session.get(User, id_or_name)
        if user is None:
            raise NotFound(f"no user {id_or_name!r}")
        return user

    async def ensure_local_admin(self) -> Principal:
        """The user single-user mode acts as, created on first use."""
        async with self._db.session() as session:
            user = await session.scalar(select(User).where(User.name == LOCAL_ADMIN_NAME))
        if user is None:
            try:
                user = await self.create_user(LOCAL_ADMIN_NAME, admin=True)
            except Conflict:  # another process created it at the same moment
                user = await self.get_user(LOCAL_ADMIN_NAME)
        return Principal(user_id=user.id, name=user.name, is_admin=user.is_admin)

    async def create_key(self, user_id_or_name: str, *, name: str = "") -> CreatedKey:
        user = await self.get_user(user_id_or_name)
        if len(name) > 100:
            raise ValidationError("key name is too long", field="name")
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKey(user_id=user.id, name=name, prefix=secret[:10], key_hash=hash_key(secret))
        async with self._db.session() as session:
            session.add(record)
        return CreatedKey(record=record, secret=secret)

    async def list_keys(self, user_id_or_name: str) -> list[ApiKey]:
        user = await self.get_user(user_id_or_name)
        async with self._db.session() as session:
            query = select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.created_at)
            return list(await session.scalars(query))

    async def revoke_key(self, key_id: str) -> ApiKey:
        async with self._db.session() as session:
            record = await session.get(ApiKey, key_id) if looks_like_id(key_id) else None
            if record is None:
                raise NotFound(f"no API key {key_id!r}")
            if record.revoked_at is None:
                record.revoked_at = utcnow()
        return record

    async def authenticate(self, secret: str) -> Principal:
        """The principal a bearer key stands for; Unauthorized for unknown or revoked keys."""
        if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
            raise Unauthorized("invalid API key")
        async with self._db.session() as session:
            row = (
                await session.execute(
                    select(ApiKey, User)
                    .join(User, User.id == ApiKey.user_id)
                    .where(ApiKey.key_hash == hash_key(secret))
                )
            ).first()
            if row is None:
                raise Unauthorized("invalid API key")
            key, user = row
            if key.revoked_at is not None:
                raise Unauthorized("this API key has been revoked")
            now = utcnow()
            if key.last_used_at is None or now - key.last_used_at > _LAST_USED_PRECISION:
                key.last_used_at = now
        return Principal(user_id=user.id, name=user.name, is_admin=user.is_admin)
