"""`ConnectionService`: databases the agent may query, registered by their owner or shared by
an admin. The URL is checked, encrypted (`SecretCipher`) and stored; only its masked form
is ever shown again. `for_turn` gives a chat turn the connections it may use, through which
every query, listing and description is run read-only (`ReadOnlyDatabase`, in a thread) and
recorded in the audit log (`DatabaseQuery`)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from sandbox_analyst.agent.tools import (
    ConnectionInfo,
    DatabaseToolError,
    QueryRows,
    TableDescription,
    TableName,
)
from sandbox_analyst.config import Settings
from sandbox_analyst.service import access
from sandbox_analyst.service.connections.readonly import Limits, ReadOnlyDatabase
from sandbox_analyst.service.connections.targets import (
    FILE_DIALECTS,
    Target,
    dialect_of,
    parse_target,
)
from sandbox_analyst.service.errors import Conflict, NotFound, ValidationError
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.secret_cipher import SecretCipher, UndecryptableSecret
from sandbox_analyst.service.text import Description
from sandbox_analyst.store import Database, DatabaseConnection, DatabaseQuery, looks_like_id

logger = logging.getLogger(__name__)

ConnectionName = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$",
        description="Letters, digits, _ and -; what the model calls it (e.g. sales).",
    ),
]


class ConnectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ConnectionName
    url: SecretStr = Field(
        max_length=4096,
        description="SQLAlchemy URL, e.g. postgresql://user:password@host/db, "
        "mysql://user:password@host/db, sqlite:////path/to/file.db or "
        "duckdb:////path/to/file.duckdb; stored encrypted, never shown again.",
    )
    description: Description = Field("", description="What it holds, for the model.")
    shared: bool = Field(False, description="Usable by everyone (admins only).")


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    detail: str  # the server's version, or why it cannot be reached
    seconds: float


class ConnectionService:
    def __init__(self, db: Database, settings: Settings, cipher: SecretCipher) -> None:
        self._db = db
        self._cipher = cipher
        options = settings.connections
        self._limits = Limits(
            rows=options.row_limit,
            count=options.count_limit,
            timeout_s=options.statement_timeout,
            connect_timeout_s=options.connect_timeout,
            memory_mb=options.duckdb_memory_mb,
            threads=options.duckdb_threads,
        )
        self._protected = (settings.data_dir, *_own_database_file(settings))
        self._databases: dict[tuple[str, str], ReadOnlyDatabase] = {}

    # -- registering ------------------------------------------------------------------------

    async def create(
        self, principal: Principal, spec: ConnectionCreate, *, owner_id: str | None = None
    ) -> DatabaseConnection:
        """Register a connection for `principal` (an admin may name another `owner_id`).
        Raises ValidationError (a URL that cannot be used), Forbidden (sharing, or a file
        database (SQLite, DuckDB), by a non-admin) and Conflict (the owner has one of that name)."""
        if owner_id is not None and owner_id != principal.user_id:
            access.ensure_can_share_connection(principal)
        if spec.shared:
            access.ensure_can_share_connection(principal)
        url = spec.url.get_secret_value()
        # Who may add it first: a non-admin learns nothing of the server's files.
        if dialect_of(url) in FILE_DIALECTS:
            access.ensure_can_open_database_files(principal)
        target = await asyncio.to_thread(parse_target, url, protected=self._protected)
        record = DatabaseConnection(
            owner_id=owner_id or principal.user_id,
            name=spec.name,
            description=spec.description,
            dialect=target.dialect,
            url_encrypted=self._cipher.encrypt(target.url.render_as_string(hide_password=False)),
            url_masked=target.masked,
            shared=spec.shared,
        )
        try:
            async with self._db.session() as session:
                session.add(record)
        except IntegrityError:
            message = f"there is already a connection named {spec.name!r}"
            raise Conflict(message, field="name") from None
        logger.info("connection %s added (%s, %s)", spec.name, target.dialect, record.id)
        return record

    async def list(self, principal: Principal) -> list[DatabaseConnection]:
        """The connections `principal` may use: their own and the shared ones."""
        statement = (
            select(DatabaseConnection)
            .where(access.usable_connections(principal.user_id))
            .order_by(DatabaseConnection.name, DatabaseConnection.created_at)
        )
        async with self._db.session() as session:
            return list(await session.scalars(statement))

    async def get(self, principal: Principal, ref: str) -> DatabaseConnection:
        """A connection by id or by name (their own first, then a shared one)."""
        async with self._db.session() as session:
            if looks_like_id(ref):
                found = await session.get(DatabaseConnection, ref)
                if found is not None:
                    return access.ensure_can_use_connection(principal, found)
            named = await session.scalars(
                select(DatabaseConnection).where(
                    DatabaseConnection.name == ref, access.usable_connections(principal.user_id)
                )
            )
            candidates = sorted(named, key=lambda c: c.owner_id != principal.user_id)
        if not candidates:
            raise NotFound(f"no connection {ref!r}")
        return candidates[0]

    async def delete(self, principal: Principal, ref: str) -> DatabaseConnection:
        record = await self.get(principal, ref)
        async with self._db.session() as session:
            found = access.ensure_can_modify_connection(
                principal, await session.get(DatabaseConnection, record.id)
            )
            await session.delete(found)
        self._databases.pop((record.id, record.url_encrypted), None)
        logger.info("connection %s removed (%s)", record.name, record.id)
        return record

    async def test(self, principal: Principal, ref: str) -> ConnectionCheck:
        """Connect (read-only) and ask the server's version."""
        record = await self.get(principal, ref)
        started = time.monotonic()
        try:
            detail = await asyncio.to_thread(self.database_of(record).ping)
            ok = True
        except DatabaseToolError as exc:
            detail, ok = exc.message, False
        return ConnectionCheck(ok, detail, time.monotonic() - started)

    async def queries(
        self, principal: Principal, *, ref: str | None = None, limit: int = 50
    ) -> list[DatabaseQuery]:
        """The audit log, newest first: a user's own queries, or everyone's for an admin."""
        statement = select(DatabaseQuery)
        if not principal.is_admin:
            statement = statement.where(DatabaseQuery.owner_id == principal.user_id)
        if ref is not None:
            record = await self.get(principal, ref)
            statement = statement.where(DatabaseQuery.connection_id == record.id)
        statement = statement.order_by(DatabaseQuery.created_at.desc()).limit(limit)
        async with self._db.session() as session:
            return list(await session.scalars(statement))

    async def check_usable(self, principal: Principal, ids: list[str]) -> None:
        """ValidationError unless `principal` may use every connection in `ids` and their
        names differ (the model tells them apart by name): an assistant's `connections`."""
        usable = {record.id: record for record in await self.list(principal)}
        unknown = [ref for ref in ids if ref not in usable]
        if unknown:
            raise ValidationError(f"no connection {unknown[0]!r}", field="connections")
        names = [usable[ref].name for ref in ids]
        if len(set(names)) != len(names):
            raise ValidationError("two connections of the same name", field="connections")

    # -- a turn's access --------------------------------------------------------------------

    async def for_turn(
        self, owner_id: str, conversation_id: str | None, allowed: list[str] | None
    ) -> TurnDatabases:
        """What a turn of `owner_id`'s conversation may read: the connections the owner may
        use, narrowed to `allowed` (an assistant's list of ids; None: all of them). An id the
        owner may not use (another user's private connection) is left out."""
        statement = select(DatabaseConnection).where(access.usable_connections(owner_id))
        if allowed is not None:
            statement = statement.where(DatabaseConnection.id.in_(allowed))
        async with self._db.session() as session:
            records = list(await session.scalars(statement.order_by(DatabaseConnection.name)))
        by_name: dict[str, DatabaseConnection] = {}
        for record in sorted(records, key=lambda r: r.owner_id != owner_id):
            by_name.setdefault(record.name, record)  # the owner's own wins a name clash
        return TurnDatabases(self, owner_id, conversation_id, by_name)

    def database_of(self, record: DatabaseConnection) -> ReadOnlyDatabase:
        """The connection's database, kept while its stored URL stays the same."""
        key = (record.id, record.url_encrypted)
        if key not in self._databases:
            try:
                url = self._cipher.decrypt(record.url_encrypted)
            except UndecryptableSecret as exc:
                message = f"this connection's URL cannot be decrypted: {exc}; remove the "
                raise DatabaseToolError(
                    "ConnectionUnavailable", message + "connection and add it again"
                ) from None
            target = Target(record.dialect, make_url(url))
            self._databases[key] = ReadOnlyDatabase(target, self._limits)
        return self._databases[key]

    async def audit(self, entry: DatabaseQuery) -> None:
        """Append to the audit log; a call that cannot be recorded is not answered."""
        try:
            async with self._db.session() as session:
                session.add(entry)
        except Exception as exc:
            logger.exception("could not write the audit log of a database query")
            raise DatabaseToolError(
                "AuditLogUnavailable",
                "the query could not be recorded in the audit log, so its result is withheld",
            ) from exc


def _own_database_file(settings: Settings) -> list[Path]:
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return [Path(url.database)]
    return []


class TurnDatabases:
    """The `DatabaseAccess` of one turn: its connections by name, each call audited."""

    def __init__(
        self,
        service: ConnectionService,
        owner_id: str,
        conversation_id: str | None,
        by_name: dict[str, DatabaseConnection],
    ) -> None:
        self._service = service
        self._owner_id = owner_id
        self._conversation_id = conversation_id
        self._by_name = by_name

    def connections(self) -> list[ConnectionInfo]:
        return [
            ConnectionInfo(record.name, record.dialect, record.description)
            for record in self._by_name.values()
        ]

    async def tables(self, connection: str) -> list[TableName]:
        return await self._run(connection, "tables", "", lambda db: db.tables())

    async def describe(self, connection: str, table: str) -> TableDescription:
        return await self._run(connection, "describe", table, lambda db: db.describe(table))

    async def query(self, connection: str, sql: str) -> QueryRows:
        return await self._run(connection, "query", sql, lambda db: db.query(sql))

    async def _run(self, connection: str, operation: str, statement: str, work):
        record = self._by_name.get(connection)
        if record is None:
            raise DatabaseToolError("UnknownConnection", f"no connection {connection!r}")
        started = time.monotonic()
        entry = DatabaseQuery(
            owner_id=self._owner_id,
            connection_id=record.id,
            connection_name=record.name,
            conversation_id=self._conversation_id,
            operation=operation,
            statement=statement,
        )
        try:
            answer = await asyncio.to_thread(work, self._service.database_of(record))
        except DatabaseToolError as exc:
            entry.outcome, entry.error = _outcome(exc.name), f"{exc.name}: {exc.message}"
            entry.duration_s = time.monotonic() - started
            await self._service.audit(entry)
            raise
        entry.outcome, entry.duration_s = "ok", time.monotonic() - started
        if isinstance(answer, QueryRows):
            entry.rows, entry.truncated = len(answer.rows), answer.truncated
        elif isinstance(answer, list):
            entry.rows = len(answer)
        await self._service.audit(entry)
        return answer


def _outcome(error_name: str) -> str:
    return {
        "QueryTimeout": "timeout",
        "ReadOnlyViolation": "refused",
        "ConnectionFailed": "unreachable",
    }.get(error_name, "error")
