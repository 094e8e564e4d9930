"""`ReadOnlyDatabase`: one connection's database, whatever its kind. Each call (a query, a
table listing, a table's description, a ping) opens a session of its own that is closed
afterwards; how each kind is kept read-only is its module's (postgres, mysql, sqlite,
duckdb). Blocking (the drivers are synchronous): the service runs these in a thread."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from sandbox_analyst.agent.tools import QueryRows, TableDescription, TableName
from sandbox_analyst.service.connections.readonly.session import Limits
from sandbox_analyst.service.connections.targets import Target

if TYPE_CHECKING:
    from sandbox_analyst.service.connections.readonly.duckdb import DuckDBDatabase
    from sandbox_analyst.service.connections.readonly.engine_backed import EngineBackedDatabase

# Kind -> its module and class, imported with the first connection of that kind: a server
# without PostgreSQL or DuckDB connections never pays for psycopg's or duckdb's import (a
# seventh of its start).
_KINDS = {
    "postgresql": ("postgres", "PostgresDatabase"),
    "mysql": ("mysql", "MysqlDatabase"),
    "sqlite": ("sqlite", "SqliteDatabase"),
    "duckdb": ("duckdb", "DuckDBDatabase"),
}


def _kind(dialect: str) -> type[EngineBackedDatabase | DuckDBDatabase]:
    module, name = _KINDS[dialect]
    kind: type[EngineBackedDatabase | DuckDBDatabase] = getattr(
        importlib.import_module(f"{__package__}.{module}"), name
    )
    return kind


class ReadOnlyDatabase:
    """Keep it for the connection's life: a server's engine learns its dialect once."""

    def __init__(self, target: Target, limits: Limits) -> None:
        self.target = target
        self.limits = limits
        self._kind = _kind(target.dialect)(target, limits)

    def query(self, sql: str) -> QueryRows:
        return self._kind.query(sql)

    def tables(self) -> list[TableName]:
        """The tables and views it may read; on a server, those of every schema (database)
        it has a privilege on, the default one unnamed."""
        return self._kind.tables()

    def describe(self, qualified: str) -> TableDescription:
        return self._kind.describe(qualified)

    def ping(self) -> str:
        """What the server says it is (a version); raises as the operations do."""
        return self._kind.ping()
