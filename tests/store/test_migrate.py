"""Migrations: applied at start-up, idempotent, and in step with the models."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from sandbox_analyst.store import Base, Database, sync_url, upgrade_to_head


def test_upgrade_creates_every_table_and_is_idempotent(database_url: str) -> None:
    upgrade_to_head(database_url)
    upgrade_to_head(database_url)
    engine = create_engine(sync_url(database_url))
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_the_migrations_match_the_models(database_url: str) -> None:
    upgrade_to_head(database_url)
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_two_processes_starting_at_once_both_succeed(database_url: str) -> None:
    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(upgrade_to_head, database_url) for _ in range(2)]:
            future.result()


async def test_opening_the_database_migrates_it(database_url: str) -> None:
    database = Database(database_url)
    await database.open()
    try:
        assert await database.ping()
    finally:
        await database.close()
