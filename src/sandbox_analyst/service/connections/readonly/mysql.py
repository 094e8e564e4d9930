"""MySQL and MariaDB (through PyMySQL), read-only by the server: the session is `SET SESSION
TRANSACTION READ ONLY` and the statement runs inside `START TRANSACTION READ ONLY`, always
rolled back, so the server refuses every write and DDL, temporary tables included; the
client never asks for multi-statement support (nor `LOCAL INFILE`), so one call is exactly
one statement and no `COMMIT; ...` follows it; the server stops the statement at the timeout
(MariaDB's `max_statement_time`, MySQL's `max_execution_time`), the watchdog kills it from a
second connection (the fetch included), and a socket read timeout is the last backstop.

A read-only transaction does not stop what an administrative privilege allows in one
statement (`SELECT ... INTO OUTFILE` with FILE, `SET GLOBAL` or `KILL` with SUPER,
`SHUTDOWN`, `FLUSH`...): a session whose user (on MariaDB, or a role it has enabled) holds
any global privilege beyond reading and the data privileges the transaction already refuses
is not used at all."""

from __future__ import annotations

import contextlib
import re
import ssl
from collections.abc import Callable
from typing import Any

import pymysql
from pymysql.constants import CLIENT, ER, FIELD_TYPE
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.pool import NullPool

from sandbox_analyst.agent.tools import Column, DatabaseToolError, QueryRows, TableName
from sandbox_analyst.service.connections.readonly.engine_backed import (
    EngineBackedDatabase,
    no_rows_error,
    read_only_error,
    timeout_error,
)
from sandbox_analyst.service.connections.readonly.session import answer, fetch_limited

_TABLES = """
SELECT table_schema, table_name, table_type, DATABASE() FROM information_schema.tables
WHERE table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
ORDER BY table_schema <> COALESCE(DATABASE(), ''), table_schema, table_type, table_name
"""
# Global privileges a read-only session may hold: reading, and the data privileges whose
# statements a READ ONLY transaction refuses anyway. Any other (FILE, SUPER, SHUTDOWN,
# RELOAD, CREATE USER, CONNECTION ADMIN...) acts outside the transaction.
HARMLESS_PRIVILEGES = frozenset(
    {
        "USAGE",
        "SELECT",
        "SHOW VIEW",
        "SHOW DATABASES",
        "SHOW CREATE ROUTINE",
        "PROCESS",
        "EXECUTE",
        "REPLICATION CLIENT",
        "BINLOG MONITOR",
        "SLAVE MONITOR",
        "REPLICA MONITOR",
        "INSERT",
        "UPDATE",
        "DELETE",
        "DELETE HISTORY",
        "CREATE",
        "DROP",
        "ALTER",
        "INDEX",
        "REFERENCES",
        "CREATE TEMPORARY TABLES",
        "LOCK TABLES",
        "CREATE VIEW",
        "CREATE ROUTINE",
        "ALTER ROUTINE",
        "EVENT",
        "TRIGGER",
    }
)
_GLOBAL_GRANT = re.compile(r"GRANT (?P<privileges>.+?) ON \*\.\* TO ", re.IGNORECASE)
_TIMEOUT_ERRORS = {ER.QUERY_INTERRUPTED, 1969, 3024}  # killed; max_statement/execution_time
# Refused in a READ ONLY transaction (1792); a FILE, SUPER... privilege needed.
_READ_ONLY_ERRORS = {1792, ER.SPECIFIC_ACCESS_DENIED_ERROR}
_TEXT_OR_BLOB = {
    FIELD_TYPE.TINY_BLOB,
    FIELD_TYPE.BLOB,
    FIELD_TYPE.MEDIUM_BLOB,
    FIELD_TYPE.LONG_BLOB,
}
_TYPE_NAMES = {value: name for name, value in vars(FIELD_TYPE).items() if name.isupper()}
_TYPE_NAMES.update(
    {
        FIELD_TYPE.NEWDECIMAL: "DECIMAL",
        FIELD_TYPE.VAR_STRING: "VARCHAR",
        FIELD_TYPE.STRING: "CHAR",
        FIELD_TYPE.TINY: "TINYINT",
        FIELD_TYPE.SHORT: "SMALLINT",
        FIELD_TYPE.LONG: "INT",
        FIELD_TYPE.LONGLONG: "BIGINT",
        FIELD_TYPE.INT24: "MEDIUMINT",
    }
)


class MysqlDatabase(EngineBackedDatabase):
    driver_errors = (pymysql.Error,)

    def new_engine(self) -> Engine:
        options = self.target.url.query
        connect_args: dict[str, Any] = {
            "connect_timeout": max(1, int(self.limits.connect_timeout_s)),
            # The last backstop, should the server not stop the statement nor the kill land.
            "read_timeout": int(self.limits.timeout_s + self.limits.connect_timeout_s) + 1,
            "write_timeout": int(self.limits.timeout_s + self.limits.connect_timeout_s) + 1,
            "client_flag": CLIENT.FOUND_ROWS,  # and never MULTI_STATEMENTS
            "local_infile": False,
            "program_name": "sandbox-analyst",
        }
        if "charset" in options:
            connect_args["charset"] = str(options["charset"])
        if str(options.get("ssl", "false")).lower() == "true":
            connect_args["ssl"] = ssl.create_default_context()
        return create_engine(
            self.target.url.set(query={}), poolclass=NullPool, connect_args=connect_args
        )

    def make_read_only(self, connection: Connection, raw: Any) -> Callable[[], object]:
        with raw.cursor() as cursor:
            self._refuse_administrators(cursor)
            if connection.dialect.is_mariadb:
                cursor.execute(f"SET SESSION max_statement_time = {self.limits.timeout_s:.3f}")
            else:
                milliseconds = max(1, int(self.limits.timeout_s * 1000))
                cursor.execute(f"SET SESSION max_execution_time = {milliseconds}")
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
            cursor.execute("START TRANSACTION READ ONLY")
        thread_id = raw.thread_id()
        return lambda: self._kill(thread_id)

    def _refuse_administrators(self, cursor: Any) -> None:
        # SHOW GRANTS, not information_schema: on MariaDB it also lists what the enabled
        # roles (and the roles granted to them) hold, which are the session's privileges too.
        # (MySQL 8 lists a role's privileges only with SHOW GRANTS ... USING: not covered.)
        cursor.execute("SHOW GRANTS")
        held = {
            privilege.strip().upper()
            for (line,) in cursor.fetchall()
            if (found := _GLOBAL_GRANT.match(str(line)))
            for privilege in found["privileges"].split(",")
        }
        powers = sorted(held - HARMLESS_PRIVILEGES)
        if powers:
            raise DatabaseToolError(
                "ReadOnlyViolation",
                f"this connection's user holds administrative privileges ({', '.join(powers)}) "
                "whose statements (SELECT ... INTO OUTFILE, SET GLOBAL, KILL, SHUTDOWN...) no "
                "read-only transaction stops, so it is not used: connect as a user without "
                "them, e.g. one granted only SELECT ON db.*",
            )

    def _kill(self, thread_id: int) -> None:
        """Stop the session's statement from a second connection (its own user may)."""
        other = self._engine().raw_connection()
        try:
            with other.cursor() as cursor:
                cursor.execute(f"KILL QUERY {int(thread_id)}")
        finally:
            other.close()

    def server_kind(self, connection: Connection) -> str:
        return "mariadb" if connection.dialect.is_mariadb else "mysql"

    def list_tables(self, connection: Connection) -> list[TableName]:
        """The tables and views of every database it may see (information_schema shows only
        those), the URL's database unnamed."""
        with connection.connection.driver_connection.cursor() as cursor:
            cursor.execute(_TABLES)
            rows = cursor.fetchall()
        return [
            TableName(name, None if schema == current else schema, _kind(kind))
            for schema, name, kind, current in rows
        ]

    def refusal(self, original: Exception, message: str) -> DatabaseToolError | None:
        code = original.args[0] if isinstance(original, pymysql.Error) and original.args else 0
        if code in _TIMEOUT_ERRORS:
            return timeout_error(self.limits)
        if code in _READ_ONLY_ERRORS:
            return read_only_error(message)
        return None

    def rows(self, connection: Connection, raw: pymysql.Connection, sql: str) -> QueryRows:
        # Unbuffered: rows are read as they come, never all held.
        cursor = raw.cursor(pymysql.cursors.SSCursor)
        try:
            cursor.execute(sql)
            if cursor.description is None:  # SET, DO, CALL...: ran, and gave nothing
                raise no_rows_error()
            rows, extra = fetch_limited(cursor.fetchmany, self.limits)
            columns = [
                Column(item[0], _type(item[1], rows, index))
                for index, item in enumerate(cursor.description)
            ]
            if extra > self.limits.count:  # more than is counted: stop the rest at the server
                self._kill(raw.thread_id())
        finally:
            with contextlib.suppress(pymysql.err.OperationalError):  # the kill's interruption
                cursor.close()
        return answer(columns, rows, extra, self.limits)


def _kind(table_type: str) -> str:
    return "view" if "VIEW" in table_type.upper() else "table"


def _type(code: int, rows: list[tuple[Any, ...]], index: int) -> str:
    """The server's type; TEXT and BLOB columns share a type code (only their character set
    tells them apart), so those are told by a value: text comes decoded, bytes do not."""
    if code not in _TEXT_OR_BLOB:
        return _TYPE_NAMES.get(code, f"type {code}")
    for row in rows:
        if row[index] is not None:
            return "TEXT" if isinstance(row[index], str) else "BLOB"
    return "TEXT or BLOB"  # no value to tell by
