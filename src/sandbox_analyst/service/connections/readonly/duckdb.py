"""DuckDB files, read-only by the library: the file is opened `read_only=True` (every write,
DDL included, is refused), with `enable_external_access=false` (no other file, URL or
extension: no `read_csv('/etc/passwd')`, `COPY ... TO`, `ATTACH`, `INSTALL` or `LOAD`) and the
configuration locked, so no `SET` turns any of it back on. DuckDB runs several statements in
one call, so a query holding more than one is refused before it runs; it has no statement
timeout, so the watchdog interrupts the connection (the fetch included).

DuckDB runs inside this server's process: a query gets `Limits.memory_mb` and
`Limits.threads`, never spills to disk (no temporary directory next to the file), and prints
no progress bar. Sessions on one file at the same time share its database instance in this
process, and so those limits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from sandbox_analyst.agent.tools import (
    Column,
    DatabaseToolError,
    ForeignKey,
    QueryRows,
    TableDescription,
    TableName,
)
from sandbox_analyst.service.connections.readonly.engine_backed import (
    no_rows_error,
    one_statement_error,
    read_only_error,
    timeout_error,
)
from sandbox_analyst.service.connections.readonly.session import (
    Limits,
    Watchdog,
    answer,
    fetch_limited,
)
from sandbox_analyst.service.connections.targets import Target

_TABLES = """
SELECT schema_name AS place, table_name AS name, 'table' AS kind FROM duckdb_tables()
WHERE database_name = current_database() AND NOT temporary
UNION ALL
SELECT schema_name, view_name, 'view' FROM duckdb_views()
WHERE database_name = current_database() AND NOT temporary AND NOT internal
ORDER BY place <> current_schema(), place, kind, name
"""
_COLUMNS = """
SELECT column_name, data_type, is_nullable, comment FROM duckdb_columns()
WHERE database_name = current_database() AND schema_name = ? AND table_name = ?
ORDER BY column_index
"""
_CONSTRAINTS = """
SELECT constraint_type, constraint_column_names, referenced_table, referenced_column_names
FROM duckdb_constraints()
WHERE database_name = current_database() AND schema_name = ? AND table_name = ?
  AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')
"""
_KIND = """
SELECT 'table' FROM duckdb_tables() WHERE database_name = current_database()
  AND schema_name = ? AND table_name = ?
UNION ALL
SELECT 'view' FROM duckdb_views() WHERE database_name = current_database()
  AND schema_name = ? AND view_name = ?
"""
# Every connection to a file in this process shares one database instance, settings included:
# the first session of a file sets it up while no other may open it.
_OPENING = threading.Lock()
# What DuckDB says when a write, a file or a setting is refused by the options above.
_REFUSALS = ("read-only mode", "disabled by configuration", "configuration has been locked")


class DuckDBDatabase:
    """One DuckDB file. Each call opens it (read-only) and closes it afterwards, so that the
    file is not held open between calls (a writer elsewhere may then take it)."""

    def __init__(self, target: Target, limits: Limits) -> None:
        self.target = target
        self.limits = limits

    def query(self, sql: str) -> QueryRows:
        with self._session() as connection:
            if len(_statements(connection, sql)) > 1:
                raise one_statement_error()
            result = connection.execute(sql)
            if result.description is None:
                raise no_rows_error()
            columns = [Column(item[0], str(item[1])) for item in result.description]
            rows, extra = fetch_limited(result.fetchmany, self.limits)
            return answer(columns, rows, extra, self.limits)

    def tables(self) -> list[TableName]:
        with self._session() as connection:
            rows = connection.execute(_TABLES).fetchall()
            current = connection.execute("SELECT current_schema()").fetchone()[0]
        return [
            TableName(name, None if schema == current else schema, kind)
            for schema, name, kind in rows
        ]

    def describe(self, qualified: str) -> TableDescription:
        schema, _, name = qualified.rpartition(".")
        with self._session() as connection:
            current = connection.execute("SELECT current_schema()").fetchone()[0]
            schema = schema or current
            found = connection.execute(_KIND, [schema, name, schema, name]).fetchone()
            if found is None:
                raise DatabaseToolError(
                    "NoSuchTable", f"no table or view {qualified!r}; try list_tables"
                )
            keys: set[str] = set()
            foreign: list[ForeignKey] = []
            for kind, columns, referred, referred_columns in connection.execute(
                _CONSTRAINTS, [schema, name]
            ).fetchall():
                if kind == "PRIMARY KEY":
                    keys.update(columns)
                else:
                    foreign.append(ForeignKey(list(columns), referred, list(referred_columns)))
            described = [
                Column(column, kind, nullable, column in keys, comment or None)
                for column, kind, nullable, comment in connection.execute(
                    _COLUMNS, [schema, name]
                ).fetchall()
            ]
            try:
                count = connection.execute(
                    f"SELECT count(*) FROM {_quoted(schema)}.{_quoted(name)}"
                ).fetchone()[0]
            except duckdb.Error:  # too slow for the timeout: described without it
                count = None
        shown_schema = None if schema == current else schema
        return TableDescription(TableName(name, shown_schema, found[0]), described, foreign, count)

    def ping(self) -> str:
        with self._session() as connection:
            version = connection.execute("SELECT version()").fetchone()[0]
        return f"duckdb {str(version).lstrip('v')}"

    @contextmanager
    def _session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        try:
            with _OPENING:
                connection = duckdb.connect(str(self.target.file), read_only=True)
                try:
                    self._lock_down(connection)
                except BaseException:
                    connection.close()
                    raise
        except duckdb.Error as exc:
            raise DatabaseToolError("ConnectionFailed", f"could not open: {exc}") from None
        watchdog = Watchdog(connection.interrupt, self.limits.timeout_s)
        try:
            with watchdog:
                yield connection
        except duckdb.Error as exc:
            raise _translated(exc, watchdog.fired, self.limits) from None
        finally:
            connection.close()

    def _lock_down(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Apply the settings and lock them, unless a session open on the same file (which
        shares its database instance and so its settings) already did."""
        if _setting(connection, "lock_configuration"):
            if _setting(connection, "enable_external_access"):
                raise DatabaseToolError(
                    "ConnectionFailed",
                    "this DuckDB file is open elsewhere in the server with other settings",
                )
            return
        # Set here rather than in `config`, which applies the external access switch before
        # the temporary directory (which it then refuses to change), and where the progress
        # bar cannot be set; and a `config` would keep other readers of the file in this
        # process from sharing its instance.
        for setting in (
            "SET autoinstall_known_extensions = false",
            "SET autoload_known_extensions = false",
            "SET temp_directory = ''",
            f"SET memory_limit = '{int(self.limits.memory_mb)}MiB'",
            f"SET threads = {int(self.limits.threads)}",
            "SET enable_progress_bar = false",
            "SET enable_external_access = false",
            "SET lock_configuration = true",  # last: nothing after it changes the others
        ):
            connection.execute(setting)


def _setting(connection: duckdb.DuckDBPyConnection, name: str) -> object:
    return connection.execute("SELECT current_setting(?)", [name]).fetchone()[0]


def _statements(connection: duckdb.DuckDBPyConnection, sql: str) -> list[object]:
    """The statements `sql` holds, parsed (not run): DuckDB would run every one of them."""
    return list(connection.extract_statements(sql))


def _translated(exc: duckdb.Error, timed_out: bool, limits: Limits) -> DatabaseToolError:
    message = str(exc).strip() or type(exc).__name__
    if timed_out or isinstance(exc, duckdb.InterruptException):
        return timeout_error(limits)
    if isinstance(exc, duckdb.OutOfMemoryException):
        return DatabaseToolError(
            "OutOfMemory",
            f"the query needed more than the {limits.memory_mb} MiB a DuckDB query may use: "
            "aggregate, filter or LIMIT in SQL so that it needs less",
        )
    if isinstance(exc, duckdb.PermissionException) or any(
        refusal in message for refusal in _REFUSALS
    ):
        return read_only_error(message)
    return DatabaseToolError("QueryError", message)


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
