"""What the database tools need from the server: `DatabaseAccess`, the databases one turn may
read, and the values it answers with. The service implements it (connections, credentials,
read-only enforcement, the audit log); the agent never sees a URL or a credential, and the
sandbox, which has no network, only ever gets the rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class DatabaseToolError(Exception):
    """A database call that failed in a way the model should be told about: `name` is what
    it sees as the error's name (QueryError, QueryTimeout, ReadOnlyViolation,
    UnknownConnection, ...), the message says what to do differently."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass(frozen=True)
class ConnectionInfo:
    name: str
    dialect: str  # postgresql, mysql, sqlite, duckdb
    description: str = ""


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # the database's type, as it names it
    nullable: bool | None = None
    primary_key: bool = False
    comment: str | None = None


@dataclass(frozen=True)
class TableName:
    name: str
    schema: str | None = None  # None: the default schema
    kind: str = "table"  # table or view

    @property
    def qualified(self) -> str:
        return self.name if self.schema is None else f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class ForeignKey:
    columns: list[str]
    references: str  # the referred table, qualified
    referred_columns: list[str]


@dataclass(frozen=True)
class TableDescription:
    table: TableName
    columns: list[Column]
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    row_count: int | None = None  # None: not counted (too slow, or refused)


@dataclass(frozen=True)
class QueryRows:
    """A query's answer: at most the row limit of rows; `total` is how many there were (None
    when there were more than could be counted), `truncated` whether rows were left out."""

    columns: list[Column]
    rows: list[tuple[Any, ...]]
    total: int | None
    truncated: bool
    limit: int


class DatabaseAccess(Protocol):
    """The databases one turn may read (the service's, bound to the turn's conversation)."""

    def connections(self) -> list[ConnectionInfo]: ...

    async def tables(self, connection: str) -> list[TableName]: ...

    async def describe(self, connection: str, table: str) -> TableDescription: ...

    async def query(self, connection: str, sql: str) -> QueryRows: ...
