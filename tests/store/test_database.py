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
