"""The database: an async engine for the request path, migrations at start-up.

SQLite gets WAL (a SIGKILL loses nothing committed), foreign keys ON, and transactions that
take the write lock when they begin, with a busy timeout, so concurrent writers wait for
each other instead of failing.

A pooled server connection is checked with a `SELECT 1` before use only when it has sat idle
for `IDLE_PING_S`: that is when a database restart, an idle timeout or a dropped TCP
connection leaves a dead one in the pool, and a dead one is then replaced before the caller
gets it. Checking every checkout (SQLAlchemy's `pool_pre_ping`) cost a round trip per
transaction, a quarter of a chat turn's own time on PostgreSQL (benchmarks/agent.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from sandbox_analyst.store.capacity import StorageFullError, is_out_of_space
from sandbox_analyst.store.migrate import upgrade_to_head
from sandbox_analyst.store.urls import async_url, is_sqlite, sqlite_path

SQLITE_BUSY_TIMEOUT_MS = 10_000
IDLE_PING_S = 10.0
_RETURNED_AT = "analyst_returned_at"  # in a pooled connection's `info`: when it came back


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, issue BEGIN (see `_begin_immediate`).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    # A deferred transaction that reads and then writes fails at once ("database is locked")
    # when another writer committed in between; busy_timeout cannot help it. Taking the write
    # lock up front makes writers queue (up to busy_timeout) instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _note_return(_dbapi_connection: Any, record: Any) -> None:
    record.info[_RETURNED_AT] = time.monotonic()


def _ping_if_idle(idle_ping_s: float) -> Any:
    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at < idle_ping_s:
            return
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
        except Exception as exc:
            # The pool drops this connection and checks out (or opens) another one.
            raise DisconnectionError("a pooled connection was found dead") from exc

    return ping


class Database:
    """One engine and its session factory. `await open()` migrates and connects."""

    def __init__(self, url: str, *, idle_ping_s: float = IDLE_PING_S) -> None:
        """`idle_ping_s`: a pooled server connection idle this long is checked before use."""
        self.url = url
        self._idle_ping_s = idle_ping_s
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    async def open(self, *, migrate: bool = True) -> None:
        path = sqlite_path(self.url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        if migrate:
            # Alembic is synchronous; keep the event loop free while it runs.
            await asyncio.to_thread(upgrade_to_head, self.url)
        engine = create_async_engine(async_url(self.url))
        if is_sqlite(self.url):  # a file: no connection to lose
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(engine.sync_engine, "begin", _begin_immediate)
        else:
            event.listen(engine.sync_engine, "checkin", _note_return)
            event.listen(engine.sync_engine, "checkout", _ping_if_idle(self._idle_ping_s))
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
            self._sessions = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("database is not open: call `await Database.open()` first")
        return self._engine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed when the block ends, rolled back on error.
        A database out of space raises StorageFullError."""
        if self._sessions is None:
            raise RuntimeError("database is not open: call `await Database.open()` first")
        try:
            async with self._sessions() as session, session.begin():
                yield session
        except DBAPIError as exc:
            if is_out_of_space(exc.orig):
                raise StorageFullError(
                    "the server's database storage is full: nothing was changed"
                ) from exc
            raise

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True
