"""`EngineBackedDatabase`: the read-only database of a dialect SQLAlchemy knows (PostgreSQL,
MySQL/MariaDB, SQLite). Each call opens a fresh connection, closed afterwards (no pool:
nothing a statement sets outlives it); SQLAlchemy's inspector lists and describes tables; a
subclass makes the session read-only, runs the query, and names its driver's errors."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, func, inspect, select, table
from sqlalchemy.exc import DBAPIError, NoSuchTableError, SQLAlchemyError

from sandbox_analyst.agent.tools import (
    Column,
    DatabaseToolError,
    ForeignKey,
    QueryRows,
    TableDescription,
    TableName,
)
from sandbox_analyst.service.connections.readonly.session import (
    READ_ONLY_HINT,
    Limits,
    Watchdog,
)
from sandbox_analyst.service.connections.targets import Target


class EngineBackedDatabase:
    """One connection's database. Keep it for the connection's life: its engine (which holds
    no connection: each call opens its own) learns the server's dialect details once."""

    driver_errors: tuple[type[Exception], ...] = ()

    def __init__(self, target: Target, limits: Limits) -> None:
        self.target = target
        self.limits = limits
        self._made: Engine | None = None
        self._making = threading.Lock()

    # -- what a dialect provides ------------------------------------------------------------

    def new_engine(self) -> Engine:
        raise NotImplementedError

    def make_read_only(self, connection: Connection, raw: Any) -> Callable[[], object]:
        """Set the session up read-only; return what cancels its running statement."""
        raise NotImplementedError

    def rows(self, connection: Connection, raw: Any, sql: str) -> QueryRows:
        raise NotImplementedError

    def refusal(self, original: Exception, message: str) -> DatabaseToolError | None:
        """The error for what the driver raised, when this dialect knows it better."""
        return None

    def list_tables(self, connection: Connection) -> list[TableName]:
        inspector = inspect(connection)
        return [
            *(TableName(name) for name in sorted(inspector.get_table_names())),
            *(TableName(name, None, "view") for name in sorted(inspector.get_view_names())),
        ]

    # -- the operations ---------------------------------------------------------------------

    def query(self, sql: str) -> QueryRows:
        with self._session() as (connection, raw, watchdog), watchdog:
            return self.rows(connection, raw, sql)

    def tables(self) -> list[TableName]:
        with self._session() as (connection, _, watchdog), watchdog:
            return self.list_tables(connection)

    def describe(self, qualified: str) -> TableDescription:
        schema, _, name = qualified.rpartition(".")
        with self._session() as (connection, _, watchdog), watchdog:
            return self._described(connection, schema or None, name, qualified)

    def ping(self) -> str:
        """What the server says it is (a version); raises as the operations do."""
        with self._session() as (connection, _, watchdog), watchdog:
            info = connection.dialect.server_version_info or ()  # MariaDB's ends in words
            version = ".".join(str(part) for part in info if isinstance(part, int))
            return f"{self.server_kind(connection)} {version}".strip()

    def server_kind(self, connection: Connection) -> str:
        return self.target.dialect

    def _described(
        self, connection: Connection, schema: str | None, name: str, qualified: str
    ) -> TableDescription:
        inspector = inspect(connection)
        if not inspector.has_table(name, schema):
            message = f"no table or view {qualified!r}; try list_tables"
            raise DatabaseToolError("NoSuchTable", message)
        kind = "view" if name in inspector.get_view_names(schema) else "table"
        try:
            keys = set(inspector.get_pk_constraint(name, schema)["constrained_columns"])
            columns = [
                Column(
                    str(column["name"]),
                    str(column["type"]),
                    column.get("nullable"),
                    column["name"] in keys,
                    column.get("comment"),
                )
                for column in inspector.get_columns(name, schema)
            ]
            foreign = [
                ForeignKey(
                    list(key["constrained_columns"]),
                    ".".join(p for p in (key["referred_schema"], key["referred_table"]) if p),
                    list(key["referred_columns"]),
                )
                for key in inspector.get_foreign_keys(name, schema)
            ]
        except NoSuchTableError:
            raise DatabaseToolError("NoSuchTable", f"no table {qualified!r}") from None
        try:
            count = connection.scalar(select(func.count()).select_from(table(name, schema=schema)))
        except DBAPIError:  # too slow for the timeout, or refused: described without it
            count = None
        return TableDescription(TableName(name, schema, kind), columns, foreign, count)

    # -- sessions ---------------------------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[tuple[Connection, Any, Watchdog]]:
        """A read-only connection (SQLAlchemy's and the driver's), a watchdog for the
        timeout, and every driver error turned into a `DatabaseToolError`."""
        watchdog: Watchdog | None = None
        try:
            with self._engine().connect() as connection:
                raw = connection.connection.driver_connection
                cancel = self.make_read_only(connection, raw)
                watchdog = Watchdog(cancel, self.limits.timeout_s)
                try:
                    yield connection, raw, watchdog
                finally:
                    connection.rollback()
        except DatabaseToolError:
            raise
        except (DBAPIError, *self.driver_errors) as exc:
            if watchdog is None:  # it failed while connecting
                message = self.scrubbed(str(getattr(exc, "orig", None) or exc).strip())
                raise DatabaseToolError(
                    "ConnectionFailed", f"could not connect: {message}"
                ) from None
            raise self._translated(exc, watchdog.fired) from None
        except SQLAlchemyError as exc:  # e.g. an option in the URL the driver rejects
            message = self.scrubbed(str(exc).split("\n")[0])
            raise DatabaseToolError("ConnectionFailed", f"could not connect: {message}") from None

    def _engine(self) -> Engine:
        with self._making:
            if self._made is None:
                self._made = self.new_engine()
            return self._made

    def _translated(self, exc: Exception, timed_out: bool) -> DatabaseToolError:
        original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        message = self.scrubbed(str(original).strip() or type(original).__name__)
        known = self.refusal(original, message)
        if timed_out or (known is not None and known.name == "QueryTimeout"):
            return timeout_error(self.limits)
        if known is not None:
            return known
        if "multiple commands" in message or "one statement at a time" in message:
            return one_statement_error()
        return DatabaseToolError("QueryError", message)

    def scrubbed(self, message: str) -> str:
        """A driver's message without the password, should it ever quote one."""
        password = self.target.password
        return message.replace(password, "***") if password else message


def timeout_error(limits: Limits) -> DatabaseToolError:
    return DatabaseToolError(
        "QueryTimeout",
        f"the query was stopped after {limits.timeout_s:g} s (the statement "
        "timeout): aggregate, filter or LIMIT in SQL so that it runs faster",
    )


def read_only_error(message: str) -> DatabaseToolError:
    return DatabaseToolError("ReadOnlyViolation", f"{READ_ONLY_HINT} ({message})")


def one_statement_error() -> DatabaseToolError:
    return DatabaseToolError("QueryError", "send one SQL statement per query_database call")


def no_rows_error() -> DatabaseToolError:
    return DatabaseToolError(
        "QueryError", "the statement returned no rows: query_database runs queries"
    )
