"""How long the logs of what sessions did are kept (`audit.retention_days`): egress connections,
sandbox time, database queries and MCP tool calls.

Each of those tables only grows, a row per connection, session, query or call. With a
retention set, every server process deletes the rows older than it when it starts and then
hourly (replicas doing it at once delete the same rows: harmless); `analyst audit prune` does
it once, with any age. Rows go in batches, each its own transaction, so a first sweep over a
large backlog never holds the database for long. A sandbox session's row goes only once it
ended (or its server was last seen alive) before the cut-off: a live session's stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, delete, or_, select

from sandbox_analyst.config import AuditSettings
from sandbox_analyst.store import (
    Database,
    DatabaseQuery,
    EgressConnection,
    McpToolCall,
    SandboxSession,
    utcnow,
)

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 3600.0
BATCH_ROWS = 1000


@dataclass(frozen=True)
class PruneReport:
    """How many rows each log lost."""

    egress_connections: int = 0
    sandbox_sessions: int = 0
    database_queries: int = 0
    mcp_tool_calls: int = 0

    @property
    def total(self) -> int:
        return (
            self.egress_connections
            + self.sandbox_sessions
            + self.database_queries
            + self.mcp_tool_calls
        )


class AuditRetention:
    def __init__(self, db: Database, settings: AuditSettings) -> None:
        self._db = db
        self.settings = settings
        self._sweeping: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Sweep now and hourly in the background, if a retention is set."""
        if self.settings.retention_days > 0 and self._sweeping is None:
            self._sweeping = asyncio.get_running_loop().create_task(self._sweep_hourly())

    async def stop(self) -> None:
        if self._sweeping is not None:
            self._sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeping
            self._sweeping = None

    async def prune(self, older_than: timedelta) -> PruneReport:
        """Delete the records older than `older_than` from every log; how many went."""
        cutoff = utcnow() - older_than
        ended = SandboxSession.ended_at
        return PruneReport(
            egress_connections=await self._delete(
                EgressConnection, EgressConnection.started_at < cutoff
            ),
            sandbox_sessions=await self._delete(
                SandboxSession,
                or_(
                    ended < cutoff,
                    and_(ended.is_(None), SandboxSession.last_seen_at < cutoff),
                ),
            ),
            database_queries=await self._delete(DatabaseQuery, DatabaseQuery.created_at < cutoff),
            mcp_tool_calls=await self._delete(McpToolCall, McpToolCall.started_at < cutoff),
        )

    async def _delete(
        self,
        model: type[EgressConnection | SandboxSession | DatabaseQuery | McpToolCall],
        older: ColumnElement[bool],
    ) -> int:
        deleted = 0
        while True:
            async with self._db.session() as session:
                ids = list(await session.scalars(select(model.id).where(older).limit(BATCH_ROWS)))
                if ids:
                    await session.execute(delete(model).where(model.id.in_(ids)))
            deleted += len(ids)
            if len(ids) < BATCH_ROWS:
                return deleted

    async def _sweep_hourly(self) -> None:
        keep = timedelta(days=self.settings.retention_days)
        while True:
            try:
                report = await self.prune(keep)
            except Exception:  # the next hour tries again; the server carries on meanwhile
                log.exception("deleting old audit log records failed")
            else:
                if report.total:
                    log.info("deleted %d audit log records older than %s", report.total, keep)
            await asyncio.sleep(SWEEP_INTERVAL_S)
