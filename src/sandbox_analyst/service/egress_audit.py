"""The audit log of sandbox egress: every connection a session made through the egress proxy,
or was refused, kept in the database (`egress_connections`) with whose session it was, and
shown to admins (`GET /api/admin/egress`, `analyst egress log`).

The proxy records a connection as it ends, on the event loop, and must never wait for the
database: `record` only queues the row (`QueuedWriter`) and writes the log line the default
sink writes. A database that fails loses those rows, never a connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from sandbox_analyst.sandbox.egress import EgressRecord, log_record
from sandbox_analyst.sandbox.sessions import OWNER_LABEL, PURPOSE_LABEL
from sandbox_analyst.service.errors import Forbidden, NotFound
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.queued_writer import QueuedWriter
from sandbox_analyst.store import Database, EgressConnection, User

BATCH_ROWS = 200
MAX_QUEUED_ROWS = 10_000
"""Beyond this many rows waiting for the database (a database far slower than a flood of
refusals) new ones are counted and dropped, so the server's memory stays bounded."""


@dataclass(frozen=True)
class EgressQuery:
    """Which records an admin asks for: newest first."""

    user: str | None = None
    """A user's name: only their sessions' connections."""
    sandbox_id: str | None = None
    denied_only: bool = False
    since: datetime | None = None
    limit: int = 100


class EgressAudit:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._writer = QueuedWriter(
            self._store, what="egress audit records", batch=BATCH_ROWS, max_queued=MAX_QUEUED_ROWS
        )

    def record(self, record: EgressRecord) -> None:
        """The egress sink: log the connection and queue it for the database. Called on the
        event loop by the proxy; returns at once."""
        log_record(record)
        self._writer.put(_row(record))

    async def flush(self) -> None:
        """Wait until every queued record is stored (or given up on)."""
        await self._writer.flush()

    async def _store(self, rows: list[EgressConnection]) -> None:
        async with self._db.session() as session:
            session.add_all(rows)

    async def list(self, principal: Principal, query: EgressQuery) -> list[EgressConnection]:
        """The records `query` selects, newest first. Admins only; `NotFound` for an unknown
        user name."""
        if not principal.is_admin:
            raise Forbidden("only an admin may read the egress audit log")
        await self.flush()
        statement = select(EgressConnection)
        async with self._db.session() as session:
            if query.user is not None:
                owner_id = await session.scalar(select(User.id).where(User.name == query.user))
                if owner_id is None:
                    raise NotFound(f"no user named {query.user!r}")
                statement = statement.where(EgressConnection.owner_id == owner_id)
            if query.sandbox_id is not None:
                statement = statement.where(EgressConnection.sandbox_id == query.sandbox_id)
            if query.denied_only:
                statement = statement.where(EgressConnection.allowed.is_(False))
            if query.since is not None:
                statement = statement.where(EgressConnection.started_at >= query.since)
            statement = statement.order_by(
                EgressConnection.started_at.desc(), EgressConnection.id
            ).limit(query.limit)
            return list(await session.scalars(statement))


def _row(record: EgressRecord) -> EgressConnection:
    return EgressConnection(
        sandbox_id=record.session_id,
        owner_id=record.labels.get(OWNER_LABEL),
        purpose=record.labels.get(PURPOSE_LABEL),
        method=record.method[:16],
        host=record.host[:255],
        port=record.port,
        path=record.path,
        allowed=record.allowed,
        reason=record.reason,
        address=record.address,
        bytes_sent=record.bytes_sent,
        bytes_received=record.bytes_received,
        started_at=datetime.fromtimestamp(record.started_at or 0.0, UTC),
        duration_s=record.duration_s,
    )
