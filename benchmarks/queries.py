"""query_database benchmark: what the tool costs on top of the database's own answer.

    uv run python benchmarks/queries.py [--rows 1000] [--rounds 20] [--postgres-url URL]
        [--mysql-url mysql://root@127.0.0.1:3306/]

A shop table (id, customer, region, amount, day) of 20,000 rows in SQLite and DuckDB
(temporary files) and, with `--postgres-url`, in a scratch schema of that PostgreSQL server,
with `--mysql-url` (an administrator's), in a scratch database of that MySQL/MariaDB server,
read by a scratch user granted SELECT on it. Measured in the same run, medians over
`--rounds`:
- baseline: the bare driver (sqlite3 / duckdb / psycopg / PyMySQL: connect, execute, fetch
  `--rows` rows, close);
- the read-only session (`ReadOnlyDatabase.query`, kept per connection as the service keeps
  it): a fresh connection, the read-only setup (mode=ro + query_only + authorizer; read_only +
  external access off + configuration locked + statement count; read-only options, READ ONLY
  transaction, extended protocol, streamed rows; privilege check, session timeout, READ ONLY
  transaction, unbuffered rows), the watchdog, and counting the rest of the rows for the total;
- the rows as Parquet (`to_parquet`);
- landing them in a local sandbox: the file written into the workdir and read into a
  DataFrame there (`df_x = pd.read_parquet(...)`, dtypes and head printed);
- baseline of the sandbox: a bare `run_code("1+1")` round trip.
Prints a Markdown table with the ratio of each row to the bare driver.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sandbox_analyst.agent.tools.database import _LOADER, PREVIEW_ROWS
from sandbox_analyst.agent.tools.query_frames import to_parquet
from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox import create_provider
from sandbox_analyst.service.connections import Limits, ReadOnlyDatabase, parse_target

TABLE_ROWS = 20_000
CREATE = "CREATE TABLE sales (id INTEGER, customer TEXT, region TEXT, amount REAL, day TEXT)"


def _rows() -> list[tuple]:
    regions = ("north", "south", "east", "west")
    return [
        (i, f"customer {i % 997}", regions[i % 4], (i % 1000) / 7, f"2026-01-{1 + i % 28:02d}")
        for i in range(TABLE_ROWS)
    ]


def median_ms(work: Callable[[], object], rounds: int) -> float:
    work()  # warm
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def sqlite_database(directory: Path) -> str:
    path = directory / "shop.db"
    with sqlite3.connect(path) as connection:
        connection.execute(CREATE)
        connection.executemany("INSERT INTO sales VALUES (?, ?, ?, ?, ?)", _rows())
    connection.close()
    return f"sqlite:///{path}"


def postgres_database(base: str) -> tuple[str, Callable[[], None]]:
    import psycopg
    from sqlalchemy.engine import make_url

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
        connection.execute(f'SET search_path TO "{schema}"')
        connection.execute(CREATE.replace("REAL", "DOUBLE PRECISION"))
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO sales VALUES (%s, %s, %s, %s, %s)", _rows())
    url = make_url(base).set(query={"options": f"-csearch_path={schema}"})

    def drop() -> None:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')

    return url.render_as_string(hide_password=False), drop


def duckdb_database(directory: Path) -> str:
    import duckdb

    path = directory / "shop.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(CREATE.replace("REAL", "DOUBLE"))
        connection.executemany("INSERT INTO sales VALUES (?, ?, ?, ?, ?)", _rows())
    return f"duckdb:///{path}"


def mysql_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    import pymysql
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url)
    suffix = uuid.uuid4().hex[:8]
    database, user, password = f"bench_{suffix}", f"bench_{suffix}", uuid.uuid4().hex

    def connect(name: str | None = None) -> pymysql.Connection:
        return pymysql.connect(
            host=admin.host,
            port=admin.port or 3306,
            user=admin.username,
            password=admin.password or "",
            database=name,
            autocommit=True,
        )

    with connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {database}")
        cursor.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
        cursor.execute(f"GRANT SELECT ON {database}.* TO '{user}'@'%'")
    with connect(database) as connection, connection.cursor() as cursor:
        cursor.execute(CREATE.replace("TEXT", "VARCHAR(40)").replace("REAL", "DOUBLE"))
        cursor.executemany("INSERT INTO sales VALUES (%s, %s, %s, %s, %s)", _rows())
    url = admin.set(username=user, password=password, database=database)

    def drop() -> None:
        with connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE {database}")
            cursor.execute(f"DROP USER '{user}'@'%'")

    return url.render_as_string(hide_password=False), drop


def bare_driver(url: str, sql: str) -> Callable[[], object]:
    target = parse_target(url)
    if target.dialect == "duckdb":
        import duckdb

        def run_duckdb() -> object:
            with duckdb.connect(str(target.file), read_only=True) as connection:
                return connection.execute(sql).fetchall()

        return run_duckdb
    if target.dialect == "mysql":
        import pymysql

        url = target.url

        def run_mysql() -> object:
            with (
                pymysql.connect(
                    host=url.host,
                    port=url.port or 3306,
                    user=url.username,
                    password=url.password or "",
                    database=url.database,
                ) as connection,
                connection.cursor() as cursor,
            ):
                cursor.execute(sql)
                return cursor.fetchall()

        return run_mysql
    if target.dialect == "sqlite":

        def run() -> object:
            connection = sqlite3.connect(target.file)
            try:
                return connection.execute(sql).fetchall()
            finally:
                connection.close()

        return run
    import psycopg

    conninfo = target.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def run_pg() -> object:
        with psycopg.connect(conninfo) as connection:
            return connection.execute(sql).fetchall()

    return run_pg


async def landing_ms(answers: dict[str, bytes], rounds: int, root: Path) -> tuple[float, float]:
    settings = SandboxSettings(pool_size=1)
    async with create_provider(settings, root / "sandboxes") as provider:
        sandbox = await provider.create()
        code = _LOADER.format(variable="df_bench", path="bench.parquet", rows=PREVIEW_ROWS)
        data = next(iter(answers.values()))

        async def land() -> None:
            await sandbox.files.write("bench.parquet", data)
            execution = await sandbox.run_code(code, timeout=60)
            assert execution.error is None, execution.error

        async def trip() -> None:
            await sandbox.run_code("1+1", timeout=60)

        results = []
        for work in (land, trip):
            await work()
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                await work()
                times.append(time.perf_counter() - started)
            results.append(statistics.median(times) * 1000)
        await sandbox.close()
        return results[0], results[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--postgres-url")
    parser.add_argument("--mysql-url", help="an administrator's URL (makes a scratch user)")
    options = parser.parse_args()
    sql = f"SELECT * FROM sales ORDER BY id LIMIT {options.rows}"
    table = []
    parquet: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        urls = {"sqlite": sqlite_database(root), "duckdb": duckdb_database(root)}
        drops: list[Callable[[], None]] = []
        if options.postgres_url:
            urls["postgresql"], drop = postgres_database(options.postgres_url)
            drops.append(drop)
        if options.mysql_url:
            urls["mysql"], drop = mysql_database(options.mysql_url)
            drops.append(drop)
        try:
            for dialect, url in urls.items():
                database = ReadOnlyDatabase(parse_target(url), Limits(rows=options.rows))
                answer = database.query(sql)
                parquet[dialect] = to_parquet(answer)
                bare = median_ms(bare_driver(url, sql), options.rounds)
                session = median_ms(lambda db=database: db.query(sql), options.rounds)
                frames = median_ms(lambda a=answer: to_parquet(a), options.rounds)
                table += [
                    (f"{dialect}: bare driver, {options.rows} rows", bare, 1.0),
                    (f"{dialect}: read-only session (query_database's)", session, session / bare),
                    (f"{dialect}: rows as Parquet", frames, frames / bare),
                ]
            land, trip = asyncio.run(landing_ms(parquet, options.rounds, root))
            table += [
                ("sandbox: bare run_code('1+1')", trip, None),
                ("sandbox: Parquet written and read into df_<name>", land, land / trip),
            ]
        finally:
            for drop in drops:
                drop()
    print(f"\n{options.rows} rows of 5 columns, median of {options.rounds} rounds\n")
    print("| step | ms | ratio |")
    print("|---|---:|---:|")
    for name, value, ratio in table:
        shown = "" if ratio is None else f"{ratio:.2f}x"
        print(f"| {name} | {value:.2f} | {shown} |")
    print("\nratios: to the bare driver of the same database; the landing to the bare round trip")


if __name__ == "__main__":
    main()
