"""`analyst connections add NAME URL | list | test | rm | log`: the operator's side of database
connections. The URL is checked and tested when added and shown masked from then on; `-`
reads it from stdin; `--user` acts for another user; a URL that cannot be used exits 1 with
the reason and without the URL."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sandbox_analyst.cli import app
from sandbox_analyst.config import Settings
from tests.fixtures.databases import PG_PASSWORD
from tests.fixtures.mariadb import MARIADB_PASSWORD


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANALYST_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ANALYST_DATABASE_URL", settings.effective_database_url)
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), input=stdin)

    return invoke


def test_add_list_test_and_remove_a_sqlite_connection(run, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    added = run("connections", "add", "shop", sqlite_url, "--description", "orders")
    assert added.exit_code == 0, added.output
    assert "added shop" in added.output
    assert "reachable: sqlite 3." in added.output

    listed = run("connections", "list")
    assert listed.exit_code == 0, listed.output
    assert "shop" in listed.output
    assert "sqlite" in listed.output

    tested = run("connections", "test", "shop")
    assert tested.exit_code == 0, tested.output
    assert tested.output.startswith("ok: sqlite 3.")

    removed = run("connections", "rm", "shop")
    assert removed.exit_code == 0, removed.output
    assert "no connections" in run("connections", "list").output
    missing = run("connections", "test", "shop")
    assert missing.exit_code != 0
    assert "no connection 'shop'" in missing.output


def test_a_url_from_stdin_is_shown_masked(run, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    added = run("connections", "add", "warehouse", "-", stdin=postgres_url + "\n")

    assert added.exit_code == 0, added.output
    assert PG_PASSWORD not in added.output
    assert ":***@127.0.0.1" in added.output
    assert "reachable: postgresql" in added.output
    assert PG_PASSWORD not in run("connections", "list").output


def test_mariadb_and_duckdb_connections_are_added_and_tested(  # type: ignore[no-untyped-def]
    run, mariadb_url: str, duckdb_url: str
) -> None:
    added = run("connections", "add", "sales", "-", stdin=mariadb_url + "\n")
    assert added.exit_code == 0, added.output
    assert "mysql+pymysql://rw_" in added.output
    assert MARIADB_PASSWORD not in added.output
    assert "reachable: mariadb 10." in added.output

    added = run("connections", "add", "local", duckdb_url)
    assert added.exit_code == 0, added.output
    assert "reachable: duckdb " in added.output

    listed = run("connections", "list")
    assert "mysql" in listed.output
    assert "duckdb" in listed.output
    assert MARIADB_PASSWORD not in listed.output


def test_an_unreachable_database_is_added_and_said_so(run) -> None:  # type: ignore[no-untyped-def]
    added = run("connections", "add", "later", "postgresql://u:pw-x@127.0.0.1:1/db")

    assert added.exit_code == 0, added.output
    assert "not reachable now" in added.output
    assert "pw-x" not in added.output
    tested = run("connections", "test", "later")
    assert tested.exit_code == 1
    assert "not reachable" in tested.output


def test_a_url_that_cannot_be_used_exits_with_the_reason(run) -> None:  # type: ignore[no-untyped-def]
    refused = run("connections", "add", "mine", "oracle://u:pw-y@db/shop")

    assert refused.exit_code == 1
    assert "'oracle' databases are not supported" in refused.output
    assert "pw-y" not in refused.output
    bad_name = run("connections", "add", "no spaces", "sqlite:////tmp/x.db")
    assert bad_name.exit_code == 2
    assert "name" in bad_name.output


def test_for_another_user(run, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    assert run("users", "create", "bob").exit_code == 0

    added = run("connections", "add", "bobs", sqlite_url, "--user", "bob")

    assert added.exit_code == 0, added.output
    assert "bobs" in run("connections", "list", "--user", "bob").output
    assert "no connections" in run("connections", "list").output  # not the local user's
    log = run("connections", "log")
    assert log.exit_code == 0, log.output
    assert "operation" in log.output  # empty: the agent has run nothing yet
