"""Read-only sessions on every kind of database, each real: a SQLite file, a DuckDB file, a
PostgreSQL server and a MariaDB server (whose user may write). Queries answer with
their columns and rows (the row limit cuts and counts the rest); bad SQL, a write (however it is
dressed up), a second statement and a slow query each fail with an error that says so, and the
database is unchanged afterwards."""

from __future__ import annotations

import sqlite3
import time

import pytest

from sandbox_analyst.agent.tools import DatabaseToolError
from sandbox_analyst.service.connections import Limits, ReadOnlyDatabase, parse_target

JOIN = (
    "SELECT c.region, count(*) AS orders, sum(o.amount) AS total FROM orders o "
    "JOIN customers c ON c.id = o.customer_id GROUP BY c.region ORDER BY c.region"
)
SLOW = {
    "sqlite": "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) "
    "SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(30)",
    "mysql": "SELECT SLEEP(30)",
    "duckdb": "SELECT count(*) FROM range(100000000) a, range(100000000) b",
}


def database(url: str, **limits: float) -> ReadOnlyDatabase:
    return ReadOnlyDatabase(parse_target(url), Limits(**limits))


def failure(db: ReadOnlyDatabase, sql: str) -> DatabaseToolError:
    with pytest.raises(DatabaseToolError) as caught:
        db.query(sql)
    return caught.value


def test_a_join_answers_with_columns_and_rows(shop_url: str) -> None:
    answer = database(shop_url).query(JOIN)

    assert [column.name for column in answer.columns] == ["region", "orders", "total"]
    assert [(region, count, float(total)) for region, count, total in answer.rows] == [
        ("north", 3, 16.25),
        ("south", 1, 7.0),
    ]
    assert (answer.total, answer.truncated) == (2, False)


def test_no_rows_still_have_their_columns(shop_url: str) -> None:
    answer = database(shop_url).query("SELECT id, name AS who FROM customers WHERE id < 0")

    assert [column.name for column in answer.columns] == ["id", "who"]
    assert (answer.rows, answer.total, answer.truncated) == ([], 0, False)


def test_rows_past_the_limit_are_counted_not_returned(shop_url: str) -> None:
    answer = database(shop_url, rows=100).query("SELECT n FROM numbers ORDER BY n")

    assert [row[0] for row in answer.rows] == list(range(1, 101))
    assert (answer.total, answer.truncated, answer.limit) == (2500, True, 100)


def test_past_the_count_limit_the_total_is_unknown(shop_url: str) -> None:
    answer = database(shop_url, rows=10, count=500).query("SELECT n FROM numbers")

    assert len(answer.rows) == 10
    assert (answer.total, answer.truncated) == (None, True)


def test_bad_sql_says_what_is_wrong(shop_url: str) -> None:
    error = failure(database(shop_url), "SELEC name FROM customers")
    assert error.name == "QueryError"
    assert "syntax" in error.message  # PostgreSQL and DuckDB: syntax error; MariaDB: SQL syntax

    error = failure(database(shop_url), "SELECT nope FROM customers")
    assert error.name == "QueryError"
    assert "nope" in error.message


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO customers VALUES (9, 'Eve', 'east')",
        "UPDATE orders SET amount = 0",
        "DELETE FROM orders",
        "DROP TABLE orders",
        "CREATE TABLE notes (text TEXT)",
    ],
)
def test_a_write_is_refused_by_the_database(shop_url: str, sql: str) -> None:
    db = database(shop_url)

    error = failure(db, sql)

    assert error.name == "ReadOnlyViolation"
    assert "read-only" in error.message
    assert db.query("SELECT count(*) FROM orders").rows == [(4,)]
    assert db.query("SELECT count(*) FROM customers").rows == [(3,)]


def test_a_second_statement_cannot_smuggle_a_write_in(shop_url: str) -> None:
    db = database(shop_url)

    for sql in (
        "SELECT 1; DELETE FROM orders",
        "COMMIT; DELETE FROM orders",
        "SELECT 1; SET default_transaction_read_only = off; COMMIT; DELETE FROM orders",
    ):
        error = failure(db, sql)
        assert error.name in {"QueryError", "ReadOnlyViolation"}, sql

    assert db.query("SELECT count(*) FROM orders").rows == [(4,)]


def test_sqlite_refuses_attach_and_pragmas_that_change_things(sqlite_url: str) -> None:
    db = database(sqlite_url)
    folder = db.target.file.parent

    for sql in (
        f"ATTACH DATABASE '{folder / 'other.db'}' AS other",
        "PRAGMA query_only = OFF",
        "PRAGMA journal_mode = DELETE",
    ):
        assert failure(db, sql).name == "ReadOnlyViolation", sql
    assert not (folder / "other.db").exists()


def test_postgresql_session_settings_do_not_make_it_writable(postgres_url: str) -> None:
    db = database(postgres_url)

    error = failure(db, "SET default_transaction_read_only = off")
    assert error.name == "QueryError"  # ran, changed nothing: the connection goes after it

    assert failure(db, "DELETE FROM orders").name == "ReadOnlyViolation"


def test_a_slow_query_is_stopped_at_the_timeout(shop_url: str) -> None:
    db = database(shop_url, timeout_s=0.5)
    started = time.monotonic()

    error = failure(db, SLOW[db.target.dialect])

    assert error.name == "QueryTimeout"
    assert "0.5 s" in error.message
    assert time.monotonic() - started < 20  # stopped, not run to its end (30 s, or never)
    assert db.query("SELECT count(*) FROM customers").rows == [(3,)]  # and usable after


def test_tables_and_a_description(shop_url: str) -> None:
    db = database(shop_url)

    names = [table.name for table in db.tables()]
    described = db.describe("orders")

    assert names == ["customers", "numbers", "orders"]
    columns = {column.name: column for column in described.columns}
    assert list(columns) == ["id", "customer_id", "amount"]
    assert columns["id"].primary_key
    assert columns["customer_id"].nullable is False
    assert columns["amount"].type.upper().startswith(("NUMERIC", "DECIMAL"))
    assert described.row_count == 4
    (key,) = described.foreign_keys
    assert (key.columns, key.references.split(".")[-1], key.referred_columns) == (
        ["customer_id"],
        "customers",
        ["id"],
    )
    with pytest.raises(DatabaseToolError) as caught:
        db.describe("nothing_here")
    assert caught.value.name == "NoSuchTable"


def test_an_unreachable_server_is_a_connection_failure() -> None:
    db = database("postgresql://reader:pw-unused@127.0.0.1:1/shop", connect_timeout_s=2)

    with pytest.raises(DatabaseToolError) as caught:
        db.ping()

    assert caught.value.name == "ConnectionFailed"
    assert "pw-unused" not in caught.value.message


def test_the_sqlite_file_is_opened_read_only(sqlite_url: str) -> None:
    db = database(sqlite_url)
    db.query("SELECT * FROM customers")

    with sqlite3.connect(db.target.file) as connection:  # still writable by its owner
        connection.execute("INSERT INTO customers VALUES (4, 'Dee', 'west')")
    connection.close()
    assert db.query("SELECT count(*) FROM customers").rows == [(4,)]
