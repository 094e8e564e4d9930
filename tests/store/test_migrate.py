"""Migrations: applied at start-up, idempotent, and in step with the models; a new database
made from the models is the database the scripts make."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from sandbox_analyst.store import (
    HEAD_REVISION,
    Base,
    Database,
    run_migrations,
    sync_url,
    upgrade_to_head,
)
from sandbox_analyst.store.migrate import alembic_config
from tests.conftest import fresh_database


def schema(url: str) -> dict[str, dict[str, Any]]:
    """What a database's tables are made of, as the database itself reports it."""
    engine = create_engine(sync_url(url))
    try:
        found = inspect(engine)
        return {
            table: {
                "columns": sorted(
                    (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                    for c in found.get_columns(table)
                ),
                "primary key": found.get_pk_constraint(table),
                "foreign keys": sorted(map(str, found.get_foreign_keys(table))),
                "indexes": sorted(
                    (
                        index["name"],
                        index["column_names"],
                        bool(index["unique"]),
                        {k: str(v) for k, v in index.get("dialect_options", {}).items()},
                    )
                    for index in found.get_indexes(table)
                ),
                "unique constraints": sorted(map(str, found.get_unique_constraints(table))),
                "check constraints": sorted(map(str, found.get_check_constraints(table))),
            }
            for table in found.get_table_names()
        }
    finally:
        engine.dispose()


def revision(url: str) -> str | None:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


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
    run_migrations(database_url)
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


def test_a_new_database_made_from_the_models_is_the_one_the_scripts_make(
    database_url: str, tmp_path: Path
) -> None:
    upgrade_to_head(database_url)  # empty: made from the models and stamped
    with fresh_database(tmp_path / "scripted") as scripted_url:
        run_migrations(scripted_url)
        assert schema(database_url) == schema(scripted_url)
        assert revision(database_url) == revision(scripted_url) == HEAD_REVISION


def test_the_head_revision_is_the_newest_script() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_current_head() == HEAD_REVISION, (
        "a new migration script: set store.migrate.HEAD_REVISION to its revision"
    )


def test_a_database_at_an_older_revision_is_upgraded_by_the_scripts(database_url: str) -> None:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0018")
    finally:
        engine.dispose()
    assert "mcp_servers" not in schema(database_url)

    upgrade_to_head(database_url)

    assert revision(database_url) == HEAD_REVISION
    assert "mcp_servers" in schema(database_url)


@pytest.mark.parametrize("database", ["new", "current"])
def test_a_start_that_finds_the_database_new_or_current_does_not_load_alembic(
    database_url: str, database: str
) -> None:
    if database == "current":
        upgrade_to_head(database_url)
    probe = (
        "import sys\n"
        "from sandbox_analyst.store import upgrade_to_head\n"
        f"upgrade_to_head({database_url!r})\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'alembic'))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
