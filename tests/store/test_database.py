"""The database: URLs mapped to drivers, SQLite tuned for a server, transactions."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from sandbox_analyst.store import Database, UnsupportedDatabase, User, async_url, sync_url


@pytest.mark.parametrize(
    ("url", "asynchronous", "synchronous"),
    [
        ("sqlite:////data/a.db", "sqlite+aiosqlite", "sqlite+pysqlite"),
        ("postgresql://u@h/db", "postgresql+psycopg", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg", "postgresql+psycopg"),
    ],
)
def test_user_urls_map_to_our_drivers(url: str, asynchronous: str, synchronous: str) -> None:
    assert async_url(url).drivername == asynchronous
    assert sync_url(url).drivername == synchronous


def test_other_databases_are_refused_clearly() -> None:
    with pytest.raises(UnsupportedDatabase, match="mysql"):
        async_url("mysql://u@h/db")


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'nested' / 'a.db'}")
    await database.open()
    try:
        async with database.engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() > 0
    finally:
        await database.close()


async def test_a_failing_block_commits_nothing(database_url: str) -> None:
    database = Database(database_url)
    await database.open()
    try:

        async def add_then_fail() -> None:
            async with database.session() as session:
                session.add(User(name="ghost"))
                await session.flush()
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await add_then_fail()
        async with database.session() as session:
            assert (await session.scalars(select(User))).all() == []
    finally:
        await database.close()


def test_using_a_closed_database_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="not open"):
        _ = Database("sqlite:///x.db").engine


def _postgres(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("a server connection: the PostgreSQL pass runs this")


async def _backend_pid(database: Database) -> int:
    async with database.session() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_pooled_connection_the_server_dropped_while_idle_is_replaced(
    database_url: str,
) -> None:
    _postgres(database_url)
    import psycopg

    database = Database(database_url, idle_ping_s=0)  # every checkout counts as idle
    await database.open(migrate=False)
    try:
        dropped = await _backend_pid(database)
        with psycopg.connect(database_url.split("?")[0], autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (dropped,))
        assert await _backend_pid(database) != dropped
    finally:
        await database.close()


async def test_a_connection_in_steady_use_is_not_checked_and_a_dead_one_is_dropped_on_failure(
    database_url: str,
) -> None:
    """No round trip for a connection used moments ago; if the server dropped it all the same,
    that one call fails and the pool starts afresh."""
    _postgres(database_url)
    import psycopg
    from sqlalchemy.exc import DBAPIError

    database = Database(database_url)  # idle_ping_s: the default, far longer than this test
    await database.open(migrate=False)
    try:
        dropped = await _backend_pid(database)
        with psycopg.connect(database_url.split("?")[0], autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (dropped,))
        with pytest.raises(DBAPIError):
            await _backend_pid(database)
        assert await _backend_pid(database) != dropped
    finally:
        await database.close()
