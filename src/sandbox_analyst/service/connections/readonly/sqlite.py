"""SQLite, read-only by the library: the file is opened `mode=ro` with `PRAGMA query_only`,
and an authorizer allows only reading (SELECT, reads, functions, recursive CTEs, the schema
PRAGMAs), so not even an ATTACH gets through; sqlite3 refuses more than one statement. The
watchdog interrupts the statement (and the fetch)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.pool import NullPool

from sandbox_analyst.agent.tools import Column, DatabaseToolError, QueryRows
from sandbox_analyst.service.connections.readonly.engine_backed import (
    EngineBackedDatabase,
    read_only_error,
)
from sandbox_analyst.service.connections.readonly.session import answer, fetch_limited

_RECURSIVE = getattr(sqlite3, "SQLITE_RECURSIVE", 33)
_READING = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, _RECURSIVE}
# The PRAGMAs that only read the schema (what describing a table needs); any other one, and
# every other action (writes, ATTACH, transactions), is denied.
_SCHEMA_PRAGMAS = {
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "database_list",
}


def _authorizer(action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
    if action in _READING:
        return sqlite3.SQLITE_OK
    # A schema PRAGMA's argument is a table or index name: it only ever reads.
    if action == sqlite3.SQLITE_PRAGMA and arg1 in _SCHEMA_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


class SqliteDatabase(EngineBackedDatabase):
    driver_errors = (sqlite3.Error,)

    def new_engine(self) -> Engine:
        path = quote(str(self.target.file))

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(
                f"file:{path}?mode=ro",
                uri=True,
                check_same_thread=False,
                timeout=self.limits.connect_timeout_s,
            )

        return create_engine("sqlite://", creator=connect, poolclass=NullPool)

    def make_read_only(self, connection: Connection, raw: Any) -> Callable[[], object]:
        raw.execute("PRAGMA query_only = ON")
        raw.set_authorizer(_authorizer)
        return raw.interrupt

    def refusal(self, original: Exception, message: str) -> DatabaseToolError | None:
        if isinstance(original, sqlite3.Error) and (
            "not authorized" in message or "readonly database" in message
        ):
            return read_only_error(message)
        return None

    def rows(self, connection: Connection, raw: sqlite3.Connection, sql: str) -> QueryRows:
        cursor = raw.execute(sql)
        rows, extra = fetch_limited(cursor.fetchmany, self.limits)
        names = [item[0] for item in cursor.description or []]
        columns = [Column(name, _type(rows, index)) for index, name in enumerate(names)]
        return answer(columns, rows, extra, self.limits)


def _type(rows: list[tuple[Any, ...]], index: int) -> str:
    """SQLite has no column types in a result: the type of the first value that is set."""
    for row in rows:
        value = row[index]
        if value is not None:
            return {int: "INTEGER", float: "REAL", str: "TEXT", bytes: "BLOB"}.get(
                type(value), type(value).__name__
            )
    return "unknown"  # no value to tell by (no rows, or only NULLs)
