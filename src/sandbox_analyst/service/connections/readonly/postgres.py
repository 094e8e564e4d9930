"""PostgreSQL, read-only by the server: the session starts with
`default_transaction_read_only=on` and a `statement_timeout`, the transaction is `READ ONLY`
and always rolled back; the statement goes through the extended protocol (psycopg's `stream`),
which takes exactly one statement, so no `COMMIT; ...` can start a writable transaction; rows
are streamed, never all held. The watchdog cancels the statement (and the fetch)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.pool import NullPool

from sandbox_analyst.agent.tools import Column, DatabaseToolError, QueryRows, TableName
from sandbox_analyst.service.connections.readonly.engine_backed import (
    EngineBackedDatabase,
    no_rows_error,
    read_only_error,
    timeout_error,
)
from sandbox_analyst.service.connections.readonly.session import answer

_TABLES = """
SELECT table_schema, table_name, table_type, current_schema() FROM information_schema.tables
WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY table_schema <> current_schema(), table_schema, table_type, table_name
"""
_KINDS = {"BASE TABLE": "table", "VIEW": "view", "FOREIGN": "table", "LOCAL TEMPORARY": "table"}
_STREAM_CHUNK = 500  # rows psycopg fetches at a time (libpq 17+)


class PostgresDatabase(EngineBackedDatabase):
    driver_errors = (psycopg.Error,)

    def new_engine(self) -> Engine:
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

    def make_read_only(self, connection: Connection, raw: Any) -> Callable[[], object]:
        connection.rollback()  # what SQLAlchemy began: the next one is READ ONLY
        raw.read_only = True
        return getattr(raw, "cancel_safe", raw.cancel)

    def list_tables(self, connection: Connection) -> list[TableName]:
        """The tables and views of every schema it has a privilege on (information_schema
        shows only those), the default schema unnamed."""
        rows = connection.exec_driver_sql(_TABLES).all()
        return [
            TableName(name, None if schema == current else schema, _KINDS[kind])
            for schema, name, kind, current in rows
        ]

    def refusal(self, original: Exception, message: str) -> DatabaseToolError | None:
        if isinstance(original, psycopg.errors.QueryCanceled):
            return timeout_error(self.limits)
        if isinstance(original, psycopg.errors.ReadOnlySqlTransaction):
            return read_only_error(message)
        if "didn't produce a result" in message:  # stream() on SET, COMMIT...
            return no_rows_error()
        return None

    def rows(self, connection: Connection, raw: psycopg.Connection, sql: str) -> QueryRows:
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
            columns = [Column(item.name, _type(raw, item.type_code)) for item in cursor.description]
        else:  # no rows: psycopg's stream saw no result to describe
            columns = _columns(raw, sql)
        return answer(columns, rows, extra, self.limits)


def _columns(raw: psycopg.Connection, sql: str) -> list[Column]:
    """The columns `sql` answers with, from the server's description of the statement
    prepared, not run again (the unnamed statement, in the same read-only transaction)."""
    pgconn = raw.pgconn
    prepared = pgconn.prepare(b"", sql.encode(raw.info.encoding))
    if prepared.status != psycopg.pq.ExecStatus.COMMAND_OK:
        return []
    described = pgconn.describe_prepared(b"")
    return [
        Column(described.fname(index).decode(), _type(raw, described.ftype(index)))
        for index in range(described.nfields)
    ]


def _type(raw: psycopg.Connection, oid: int) -> str:
    info = raw.adapters.types.get(oid)
    return info.name if info is not None else f"oid {oid}"
