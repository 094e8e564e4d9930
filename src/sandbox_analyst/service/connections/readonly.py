"""Read-only sessions on a connection's database: one query, a table listing or a table's
description, each on a fresh connection that is closed afterwards (no pool: nothing a
statement sets outlives it). Blocking (the drivers are synchronous): the service runs these
in a thread.

Read-only is enforced by the database, not by looking at the SQL:
- PostgreSQL: the session starts with `default_transaction_read_only=on` and a
  `statement_timeout`, the transaction is `READ ONLY` and always rolled back; the statement
  goes through the extended protocol (psycopg's `stream`), which takes exactly one statement,
  so no `COMMIT; ...` can start a writable transaction; rows are streamed, never all held.
- SQLite: the file is opened `mode=ro` with `PRAGMA query_only`, and an authorizer allows only
  reading (SELECT, reads, functions, recursive CTEs, the schema PRAGMAs), so not even an
  ATTACH gets through; sqlite3 refuses more than one statement.
A watchdog cancels the statement (and the fetch) at the timeout on both.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import psycopg
from sqlalchemy import Connection, Engine, create_engine, func, inspect, select, table
from sqlalchemy.exc import DBAPIError, NoSuchTableError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from sandbox_analyst.agent.tools import (
    Column,
    DatabaseToolError,
    ForeignKey,
    QueryRows,
    TableDescription,
    TableName,
)
from sandbox_analyst.service.connections.targets import Target

_POSTGRES_TABLES = """
SELECT table_schema, table_name, table_type, current_schema() FROM information_schema.tables
WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY table_schema <> current_schema(), table_schema, table_type, table_name
"""
_KINDS = {"BASE TABLE": "table", "VIEW": "view", "FOREIGN": "table", "LOCAL TEMPORARY": "table"}
_STREAM_CHUNK = 500  # rows psycopg fetches at a time (libpq 17+)
_SQLITE_RECURSIVE = getattr(sqlite3, "SQLITE_RECURSIVE", 33)
_SQLITE_READING = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION}
_SQLITE_READING.add(_SQLITE_RECURSIVE)
# The PRAGMAs that only read the schema (what describing a table needs); any other one, and
# every other action (writes, ATTACH, transactions), is denied.
_SQLITE_SCHEMA_PRAGMAS = {
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "database_list",
}
READ_ONLY_HINT = "this connection is read-only: only SELECT queries (and WITH ... SELECT) run"


@dataclass(frozen=True)
class Limits:
    rows: int = 1000  # rows returned
    count: int = 1_000_000  # rows past those that are counted for the total
    timeout_s: float = 30.0
    connect_timeout_s: float = 10.0


class _Watchdog:
    """Cancels the running statement when the time is up (and remembers that it did)."""

    def __init__(self, cancel: Any, timeout_s: float) -> None:
        self.fired = False
        self._cancel = cancel
        self._timer = threading.Timer(timeout_s, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        # The connection is going anyway; the caller sees the timeout.
        with contextlib.suppress(Exception):
            self._cancel()

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()


def _sqlite_authorizer(action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
    if action in _SQLITE_READING:
        return sqlite3.SQLITE_OK
    # A schema PRAGMA's argument is a table or index name: it only ever reads.
    if action == sqlite3.SQLITE_PRAGMA and arg1 in _SQLITE_SCHEMA_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


class ReadOnlyDatabase:
    """One connection's database. Keep it for the connection's life: its engine (which holds
    no connection: each call opens its own) learns the server's dialect details once."""

    def __init__(self, target: Target, limits: Limits) -> None:
        self.target = target
        self.limits = limits
        self._made: Engine | None = None
        self._making = threading.Lock()

    # -- the operations ---------------------------------------------------------------------

    def query(self, sql: str) -> QueryRows:
        with self._session() as (_, raw, watchdog), watchdog:
            if self.target.dialect == "postgresql":
                return self._postgres_rows(raw, sql)
            return self._sqlite_rows(raw, sql)

    def tables(self) -> list[TableName]:
        """The tables and views it may read; on PostgreSQL those of every schema it has a
        privilege on (information_schema shows only those), the default schema unnamed."""
        with self._session() as (connection, _, watchdog), watchdog:
            if self.target.dialect == "postgresql":
                rows = connection.exec_driver_sql(_POSTGRES_TABLES).all()
                return [
                    TableName(name, None if schema == current else schema, _KINDS[kind])
                    for schema, name, kind, current in rows
                ]
            inspector = inspect(connection)
            return [
                *(TableName(name) for name in sorted(inspector.get_table_names())),
                *(TableName(name, None, "view") for name in sorted(inspector.get_view_names())),
            ]

    def describe(self, qualified: str) -> TableDescription:
        schema, _, name = qualified.rpartition(".")
        with self._session() as (connection, _, watchdog), watchdog:
            inspector = inspect(connection)
            schema_or_none = schema or None
            kind = "table"
            if not inspector.has_table(name, schema_or_none):
                raise DatabaseToolError(
                    "NoSuchTable", f"no table or view {qualified!r}; try list_tables"
                )
            if name in inspector.get_view_names(schema_or_none):
                kind = "view"
            try:
                keys = set(inspector.get_pk_constraint(name, schema_or_none)["constrained_columns"])
                columns = [
                    Column(
                        str(column["name"]),
                        str(column["type"]),
                        column.get("nullable"),
                        column["name"] in keys,
                        column.get("comment"),
                    )
                    for column in inspector.get_columns(name, schema_or_none)
                ]
                foreign = [
                    ForeignKey(
                        list(key["constrained_columns"]),
                        ".".join(p for p in (key["referred_schema"], key["referred_table"]) if p),
                        list(key["referred_columns"]),
                    )
                    for key in inspector.get_foreign_keys(name, schema_or_none)
                ]
            except NoSuchTableError:
                raise DatabaseToolError("NoSuchTable", f"no table {qualified!r}") from None
            try:
                count = connection.scalar(
                    select(func.count()).select_from(table(name, schema=schema_or_none))
                )
            except DBAPIError:  # too slow for the timeout, or refused: described without it
                count = None
            return TableDescription(TableName(name, schema_or_none, kind), columns, foreign, count)

    def ping(self) -> str:
        """What the server says it is (a version); raises as the operations do."""
        with self._session() as (connection, _, watchdog), watchdog:
            info = connection.dialect.server_version_info or ()
            version = ".".join(str(part) for part in info)
            return f"{self.target.dialect} {version}".strip()

    # -- sessions ---------------------------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[tuple[Connection, Any, _Watchdog]]:
        """A read-only connection (SQLAlchemy's and the driver's), a watchdog for the
        timeout, and every driver error turned into a `DatabaseToolError`."""
        engine = self._engine()
        watchdog: _Watchdog | None = None
        try:
            with engine.connect() as connection:
                raw = connection.connection.driver_connection
                if self.target.dialect == "sqlite":
                    raw.execute("PRAGMA query_only = ON")
                    raw.set_authorizer(_sqlite_authorizer)
                    cancel = raw.interrupt
                else:
                    connection.rollback()  # what SQLAlchemy began: the next one is READ ONLY
                    raw.read_only = True
                    cancel = getattr(raw, "cancel_safe", raw.cancel)
                watchdog = _Watchdog(cancel, self.limits.timeout_s)
                try:
                    yield connection, raw, watchdog
                finally:
                    connection.rollback()
        except DatabaseToolError:
            raise
        except (DBAPIError, psycopg.Error, sqlite3.Error) as exc:
            if watchdog is None:  # it failed while connecting
                message = self._scrubbed(str(getattr(exc, "orig", None) or exc).strip())
                raise DatabaseToolError(
                    "ConnectionFailed", f"could not connect: {message}"
                ) from None
            raise self._translated(exc, watchdog.fired) from None
        except SQLAlchemyError as exc:  # e.g. an option in the URL the driver rejects
            message = self._scrubbed(str(exc).split("\n")[0])
            raise DatabaseToolError("ConnectionFailed", f"could not connect: {message}") from None

    def _engine(self) -> Engine:
        with self._making:
            if self._made is None:
                self._made = self._new_engine()
            return self._made

    def _new_engine(self) -> Engine:
        if self.target.dialect == "sqlite":
            path = quote(str(self.target.file))

            def connect() -> sqlite3.Connection:
                return sqlite3.connect(
                    f"file:{path}?mode=ro",
                    uri=True,
                    check_same_thread=False,
                    timeout=self.limits.connect_timeout_s,
                )

            return create_engine("sqlite://", creator=connect, poolclass=NullPool)
        timeout_ms = int(self.limits.timeout_s * 1000)
        options = " ".join(
            part
            for part in (
                str(self.target.url.query.get("options", "")),
                "-c default_transaction_read_only=on",
                f"-c statement_timeout={timeout_ms}",
                f"-c idle_in_transaction_session_timeout={timeout_ms + 5000}",
            )
            if part
        )
        return create_engine(
            self.target.url,
            poolclass=NullPool,
            connect_args={
                "options": options,
                "connect_timeout": max(1, int(self.limits.connect_timeout_s)),
                "application_name": "sandbox-analyst",
            },
        )

    def _translated(self, exc: Exception, timed_out: bool) -> DatabaseToolError:
        original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        message = self._scrubbed(str(original).strip() or type(original).__name__)
        if timed_out or isinstance(original, psycopg.errors.QueryCanceled):
            return DatabaseToolError(
                "QueryTimeout",
                f"the query was stopped after {self.limits.timeout_s:g} s (the statement "
                "timeout): aggregate, filter or LIMIT in SQL so that it runs faster",
            )
        if isinstance(original, psycopg.errors.ReadOnlySqlTransaction) or (
            isinstance(original, sqlite3.Error)
            and ("not authorized" in message or "readonly database" in message)
        ):
            return DatabaseToolError("ReadOnlyViolation", f"{READ_ONLY_HINT} ({message})")
        if "multiple commands" in message or "one statement at a time" in message:
            return DatabaseToolError("QueryError", "send one SQL statement per query_database call")
        if "didn't produce a result" in message:  # psycopg's stream() on SET, COMMIT...
            return DatabaseToolError(
                "QueryError", "the statement returned no rows: query_database runs queries"
            )
        return DatabaseToolError("QueryError", message)

    def _scrubbed(self, message: str) -> str:
        """A driver's message without the password, should it ever quote one."""
        password = self.target.password
        return message.replace(password, "***") if password else message

    # -- rows -------------------------------------------------------------------------------

    def _postgres_rows(self, raw: psycopg.Connection, sql: str) -> QueryRows:
        cursor = raw.cursor()
        size = _STREAM_CHUNK if psycopg.pq.version() >= 170000 else 1
        rows: list[tuple[Any, ...]] = []
        extra = 0
        stream = cursor.stream(sql, size=size)
        try:
            for row in stream:
                if len(rows) < self.limits.rows:
                    rows.append(tuple(row))
                else:
                    extra += 1
                    if extra > self.limits.count:
                        break
        finally:
            stream.close()
        if cursor.description is not None:
            columns = [
                Column(item.name, _postgres_type(raw, item.type_code))
                for item in cursor.description
            ]
        else:  # no rows: psycopg's stream saw no result to describe
            columns = _postgres_columns(raw, sql)
        return self._answer(columns, rows, extra)

    def _sqlite_rows(self, raw: sqlite3.Connection, sql: str) -> QueryRows:
        cursor = raw.execute(sql)
        rows = [tuple(row) for row in cursor.fetchmany(self.limits.rows)]
        extra = 0
        while extra <= self.limits.count:
            batch = cursor.fetchmany(10_000)
            if not batch:
                break
            extra += len(batch)
        names = [item[0] for item in cursor.description or []]
        columns = [Column(name, _sqlite_type(rows, index)) for index, name in enumerate(names)]
        return self._answer(columns, rows, extra)

    def _answer(self, columns: list[Column], rows: list[tuple[Any, ...]], extra: int) -> QueryRows:
        total = None if extra > self.limits.count else len(rows) + extra
        return QueryRows(columns, rows, total, extra > 0, self.limits.rows)


def _postgres_columns(raw: psycopg.Connection, sql: str) -> list[Column]:
    """The columns `sql` answers with, from the server's description of the statement
    prepared, not run again (the unnamed statement, in the same read-only transaction)."""
    pgconn = raw.pgconn
    prepared = pgconn.prepare(b"", sql.encode(raw.info.encoding))
    if prepared.status != psycopg.pq.ExecStatus.COMMAND_OK:
        return []
    described = pgconn.describe_prepared(b"")
    return [
        Column(described.fname(index).decode(), _postgres_type(raw, described.ftype(index)))
        for index in range(described.nfields)
    ]


def _postgres_type(raw: psycopg.Connection, oid: int) -> str:
    info = raw.adapters.types.get(oid)
    return info.name if info is not None else f"oid {oid}"


def _sqlite_type(rows: list[tuple[Any, ...]], index: int) -> str:
    """SQLite has no column types in a result: the type of the first value that is set."""
    for row in rows:
        value = row[index]
        if value is not None:
            return {int: "INTEGER", float: "REAL", str: "TEXT", bytes: "BLOB"}.get(
                type(value), type(value).__name__
            )
    return "unknown"  # no value to tell by (no rows, or only NULLs)
