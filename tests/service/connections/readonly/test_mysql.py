"""MariaDB sessions beyond the shared specification (test_database.py): the server holds the
session read-only with its own statement timeout, a write inside a function is refused, and
what a read-only transaction alone would let through is refused too (files written on the
database server, session settings, LOCAL INFILE, a user with administrative privileges,
directly or through roles); `ssl=true` insists on TLS; columns carry the server's types."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox_analyst.agent.tools import DatabaseToolError
from tests.fixtures.mariadb import MARIADB_PASSWORD, MariaDBServer
from tests.service.connections.readonly.test_database import database, failure


def count_orders(url: str) -> int:
    return database(url).query("SELECT count(*) FROM orders").rows[0][0]


def test_files_on_the_database_server_cannot_be_written(mariadb_url: str, tmp_path: Path) -> None:
    db = database(mariadb_url)
    target = tmp_path / "out.txt"

    for sql in (
        f"SELECT * FROM orders INTO OUTFILE '{target}'",
        f"SELECT 'x' INTO DUMPFILE '{target}'",
    ):
        error = failure(db, sql)
        assert error.name == "ReadOnlyViolation", sql
        assert "FILE" in error.message
    assert not target.exists()


def test_session_settings_do_not_make_it_writable(mariadb_url: str) -> None:
    db = database(mariadb_url)

    for sql in ("SET SESSION TRANSACTION READ WRITE", "COMMIT", "DO RELEASE_ALL_LOCKS()"):
        error = failure(db, sql)
        assert error.name == "QueryError", sql
        assert "returned no rows" in error.message
    assert failure(db, "DELETE FROM orders").name == "ReadOnlyViolation"
    assert failure(db, "CREATE TEMPORARY TABLE scratch (n INTEGER)").name == "ReadOnlyViolation"
    assert count_orders(mariadb_url) == 4


def test_a_write_inside_a_function_call_is_refused(
    mariadb_server: MariaDBServer, mariadb_url: str
) -> None:
    with mariadb_server.admin(mariadb_url.rsplit("/", 1)[1]) as admin, admin.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION add_order() RETURNS INTEGER MODIFIES SQL DATA "
            "BEGIN INSERT INTO orders VALUES (99, 1, 1.00); RETURN 1; END"
        )

    error = failure(database(mariadb_url), "SELECT add_order()")

    assert error.name == "ReadOnlyViolation"
    assert count_orders(mariadb_url) == 4


def test_data_from_this_servers_files_cannot_be_loaded(mariadb_url: str) -> None:
    error = failure(
        database(mariadb_url), "LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE orders"
    )

    assert error.name in {"ReadOnlyViolation", "QueryError"}
    assert count_orders(mariadb_url) == 4


def test_a_user_with_administrative_privileges_is_not_used(
    mariadb_server: MariaDBServer, mariadb_url: str
) -> None:
    database_name = mariadb_url.rsplit("/", 1)[1]
    root = database(f"mysql://root@127.0.0.1:{mariadb_server.port}/{database_name}")

    for call in (root.ping, lambda: root.query("SET GLOBAL max_connections = 7")):
        with pytest.raises(DatabaseToolError) as caught:
            call()
        assert caught.value.name == "ReadOnlyViolation"
        assert "administrative privileges (ALL PRIVILEGES)" in caught.value.message
    with mariadb_server.admin() as admin, admin.cursor() as cursor:
        cursor.execute("SELECT @@global.max_connections")
        assert cursor.fetchone()[0] != 7


def test_administrative_privileges_held_through_roles_count(
    mariadb_server: MariaDBServer, mariadb_url: str
) -> None:
    user = mariadb_url.split("//", 1)[1].split(":", 1)[0]
    with mariadb_server.admin() as admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE ROLE files_{user}")
        cursor.execute(f"GRANT FILE ON *.* TO files_{user}")
        cursor.execute(f"CREATE ROLE readers_{user}")  # the FILE privilege comes through it
        cursor.execute(f"GRANT files_{user} TO readers_{user}")
        cursor.execute(f"GRANT readers_{user} TO '{user}'@'%'")
        cursor.execute(f"SET DEFAULT ROLE readers_{user} FOR '{user}'@'%'")
    try:
        error = failure(database(mariadb_url), "SELECT 1")
        assert error.name == "ReadOnlyViolation"
        assert "(FILE)" in error.message
    finally:
        with mariadb_server.admin() as admin, admin.cursor() as cursor:
            cursor.execute(f"DROP ROLE files_{user}")
            cursor.execute(f"DROP ROLE readers_{user}")
    assert database(mariadb_url).query("SELECT 1").rows == [(1,)]


def test_the_server_says_it_is_mariadb(mariadb_url: str) -> None:
    assert database(mariadb_url).ping().startswith("mariadb 10.")


def test_the_server_holds_the_session_read_only_with_the_timeout(mariadb_url: str) -> None:
    db = database(mariadb_url, timeout_s=1)

    assert db.query("SELECT @@tx_read_only, @@max_statement_time").rows == [(1, 1.0)]
    error = failure(db, "SELECT SLEEP(5)")
    assert error.name == "QueryTimeout"
    assert "after 1 s" in error.message


def test_result_columns_have_the_servers_types(mariadb_url: str) -> None:
    answer = database(mariadb_url).query(
        "SELECT o.id, c.name, o.amount, CAST(c.name AS BINARY) AS raw, NOW() AS at "
        "FROM orders o JOIN customers c ON c.id = o.customer_id"
    )

    assert [column.type for column in answer.columns] == [
        "INT",
        "TEXT",
        "DECIMAL",
        "BLOB",
        "DATETIME",
    ]


def test_ssl_true_insists_on_tls(mariadb_url: str) -> None:
    db = database(mariadb_url + "?ssl=true")  # this server has no certificate

    with pytest.raises(DatabaseToolError) as caught:
        db.ping()

    assert caught.value.name == "ConnectionFailed"
    assert "SSL is required" in caught.value.message  # never quietly in the clear
    assert MARIADB_PASSWORD not in caught.value.message
