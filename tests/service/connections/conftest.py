"""Databases to connect to: a SQLite file of a small shop (customers, orders), and the same
tables on the suite's PostgreSQL (`ANALYST_TEST_DATABASE_URL`, set by scripts/test for its
PostgreSQL pass) in a schema of their own, read through a login role that may only SELECT and
whose password the tests look for where it must not be."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DATABASE_ENV

PG_PASSWORD = "pg-Secret-7f3a"  # a credential the sandbox must never see
SHOP_SQL = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, region TEXT NOT NULL);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    amount NUMERIC(10, 2) NOT NULL
);
INSERT INTO customers VALUES (1, 'Ada', 'north'), (2, 'Brian', 'south'), (3, 'Chen', 'north');
INSERT INTO orders VALUES (1, 1, 10.50), (2, 1, 4.50), (3, 2, 7.00), (4, 3, 1.25);
"""


def shop_sqlite(path: Path) -> Path:
    with sqlite3.connect(path) as connection:
        connection.executescript(SHOP_SQL)
        connection.executescript(
            "CREATE TABLE numbers (n INTEGER);"
            "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 2500) "
            "INSERT INTO numbers SELECT n FROM c;"
        )
    connection.close()
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{shop_sqlite(tmp_path / 'shop.db')}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A read-only role's URL on a shop schema of the suite's PostgreSQL (dropped after)."""
    base = os.environ.get(TEST_DATABASE_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {TEST_DATABASE_ENV} (scripts/test sets it)")
    import psycopg

    suffix = uuid.uuid4().hex[:10]
    schema, role = f"shop_{suffix}", f"reader_{suffix}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
        connection.execute(f'SET search_path TO "{schema}"')
        connection.execute(SHOP_SQL)
        connection.execute("CREATE TABLE numbers AS SELECT generate_series(1, 2500) AS n")
        connection.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{PG_PASSWORD}'")
        connection.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        connection.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
        connection.execute(f'ALTER ROLE "{role}" SET search_path TO "{schema}"')
    url = make_url(base).set(username=role, password=PG_PASSWORD, query={})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
            connection.execute(f'DROP ROLE "{role}"')


@pytest.fixture(params=["sqlite", "postgresql"])
def shop_url(request: pytest.FixtureRequest) -> str:
    """The shop on each kind of database."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return request.getfixturevalue(name)
