"""DuckDB sessions beyond the shared specification (test_database.py): DuckDB can read and
write any file the server can, load extensions and run several statements in one call; none
of that gets through, nor can a setting turn it back on, and the file is never changed."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from sandbox_analyst.agent.tools import DatabaseToolError
from tests.service.connections.readonly.test_database import database, failure


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM '/etc/passwd'",
        "INSTALL httpfs",
        "LOAD httpfs",
    ],
)
def test_the_servers_files_and_extensions_are_out_of_reach(duckdb_url: str, sql: str) -> None:
    error = failure(database(duckdb_url), sql)

    assert error.name in {"ReadOnlyViolation", "QueryError"}, error.message
    assert "root:" not in error.message
    assert error.name == "ReadOnlyViolation" or "does not exist" in error.message


def test_nothing_is_written_anywhere(duckdb_url: str, tmp_path: Path) -> None:
    db = database(duckdb_url)
    before = db.target.file.read_bytes()

    for sql, written in (
        (f"COPY orders TO '{tmp_path / 'out.csv'}'", tmp_path / "out.csv"),
        (f"EXPORT DATABASE '{tmp_path / 'export'}'", tmp_path / "export"),
        (f"ATTACH '{tmp_path / 'other.duckdb'}' AS other", tmp_path / "other.duckdb"),
    ):
        assert failure(db, sql).name == "ReadOnlyViolation", sql
        assert not written.exists(), sql
    assert db.target.file.read_bytes() == before


@pytest.mark.parametrize(
    "sql",
    [
        "SET enable_external_access = true",
        "RESET enable_external_access",
        "SET lock_configuration = false",
        "PRAGMA enable_profiling",
    ],
)
def test_no_setting_undoes_the_lock(duckdb_url: str, sql: str) -> None:
    db = database(duckdb_url)

    assert failure(db, sql).name == "ReadOnlyViolation"
    assert failure(db, "SELECT * FROM read_csv('/etc/passwd')").name == "ReadOnlyViolation"


def test_a_second_statement_is_refused_before_any_runs(duckdb_url: str) -> None:
    db = database(duckdb_url)

    error = failure(db, "SELECT 1; SELECT * FROM read_csv('/etc/passwd')")

    assert (error.name, error.message) == (
        "QueryError",
        "send one SQL statement per query_database call",
    )


def test_a_file_in_use_by_a_writer_is_a_connection_failure(duckdb_url: str) -> None:
    db = database(duckdb_url)
    # A writer holds the file's lock meanwhile.
    with duckdb.connect(str(db.target.file)), pytest.raises(DatabaseToolError) as caught:
        db.query("SELECT 1")
    assert caught.value.name == "ConnectionFailed"
    assert db.query("SELECT count(*) FROM orders").rows == [(4,)]


def test_the_version_is_duckdbs(duckdb_url: str) -> None:
    assert database(duckdb_url).ping() == f"duckdb {duckdb.__version__}"


def test_a_query_gets_a_share_of_this_process_and_no_disk(duckdb_url: str) -> None:
    db = database(duckdb_url, memory_mb=64, threads=1)
    settings = (
        "SELECT current_setting('memory_limit'), current_setting('threads'), "
        "current_setting('temp_directory'), current_setting('enable_progress_bar')"
    )

    assert db.query(settings).rows == [("64.0 MiB", 1, "", False)]
    error = failure(db, "SELECT range % 5000000 AS k, count(*) FROM range(20000000) GROUP BY k")
    assert error.name == "OutOfMemory"
    assert "64 MiB" in error.message
    assert list(db.target.file.parent.iterdir()) == [db.target.file]  # nothing spilled


def test_sessions_on_one_file_at_once_share_its_locked_settings(duckdb_url: str) -> None:
    db = database(duckdb_url)
    # Another reader in this process: DuckDB gives every connection to the file one instance.
    with duckdb.connect(str(db.target.file), read_only=True) as other:
        assert db.query("SELECT count(*) FROM orders").rows == [(4,)]  # sets it up
        assert db.query("SELECT count(*) FROM customers").rows == [(3,)]  # finds it set up
        assert failure(db, "SELECT * FROM read_csv('/etc/passwd')").name == "ReadOnlyViolation"
        with pytest.raises(duckdb.Error):
            other.execute("SET enable_external_access = true")
