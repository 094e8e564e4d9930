"""The log of sandbox time (`sandbox_sessions`): every session this server process opens, whose
it is and how long it lives, for the usage report's sandbox minutes.

The session manager tells `SandboxTimeLog` of each session it opens and ends, on the event
loop; like the egress audit, the log never makes it wait for the database: it queues the
change, stored in order (`QueuedWriter`). While sessions are open it refreshes their
`last_seen_at` every `HEARTBEAT_S`, so that the sessions of a server that stopped without
ending them (killed, crashed) count until it was last seen alive, not for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sandbox_analyst.sandbox import Sandbox, SessionKey
from sandbox_analyst.service.queued_writer import QueuedWriter
from sandbox_analyst.store import Database, SandboxSession

log = logging.getLogger(__name__)

HEARTBEAT_S = 60.0


@dataclass(frozen=True)
class _Opened:
    sandbox_id: str
    owner_id: str
    purpose: str
    backend: str
    created: bool
    at: datetime


@dataclass(frozen=True)
class _Ended:
    sandbox_id: str
    reason: str
    at: datetime


class SandboxTimeLog:
    """A `SessionObserver` that keeps `sandbox_sessions`."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._writer = QueuedWriter(self._store, what="changes of the sandbox time log")
        self._heartbeat: asyncio.Task[None] | None = None
        self._open: set[str] = set()

    # --- what the session manager calls ---------------------------------------------------

    def opened(self, key: SessionKey, sandbox: Sandbox, *, created: bool) -> None:
        self._open.add(sandbox.sandbox_id)
        change = _Opened(
            sandbox.sandbox_id, key.owner, key.purpose, sandbox.backend, created, _now()
        )
        self._writer.put(change)
        if self._heartbeat is None:
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat_forever())

    def ended(self, key: SessionKey, sandbox: Sandbox, reason: str) -> None:
        del key
        self._open.discard(sandbox.sandbox_id)
        self._writer.put(_Ended(sandbox.sandbox_id, reason[:32], _now()))

    async def close(self) -> None:
        """Stop refreshing and store what is queued (the manager has ended its sessions)."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        await self.flush()

    async def flush(self) -> None:
        await self._writer.flush()

    # --- writing ----------------------------------------------------------------------------

    async def _store(self, changes: list[_Opened | _Ended]) -> None:
        async with self._db.session() as session:
            for change in changes:
                if isinstance(change, _Opened):
                    await _store_opened(session, change)
                else:
                    await _store_ended(session, change)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            if not self._open:
                continue
            try:
                async with self._db.session() as session:
                    await session.execute(
                        update(SandboxSession)
                        .where(SandboxSession.sandbox_id.in_(sorted(self._open)))
                        .values(last_seen_at=_now())
                    )
            except Exception:  # the next beat tries again
                log.exception("could not refresh the sandbox time log")


async def _store_opened(session: AsyncSession, change: _Opened) -> None:
    row = await session.scalar(
        select(SandboxSession).where(SandboxSession.sandbox_id == change.sandbox_id)
    )
    if row is not None:  # reached again by its stored id (after a restart): alive again
        row.last_seen_at = change.at
        row.ended_at = None
        row.end_reason = None
        return
    session.add(
        SandboxSession(
            sandbox_id=change.sandbox_id,
            owner_id=change.owner_id,
            purpose=change.purpose,
            backend=change.backend,
            # A session reached by its stored id that was never logged (made before the log
            # existed) counts from now.
            started_at=change.at,
            last_seen_at=change.at,
        )
    )
    await session.flush()  # its end may follow in the same batch


async def _store_ended(session: AsyncSession, change: _Ended) -> None:
    await session.execute(
        update(SandboxSession)
        .where(SandboxSession.sandbox_id == change.sandbox_id)
        .values(ended_at=change.at, last_seen_at=change.at, end_reason=change.reason)
    )


async def sandbox_seconds(
    session: AsyncSession,
    owner_ids: Sequence[str],
    since: datetime | None,
    now: datetime | None = None,
) -> dict[str, float]:
    """Per owner with any: the seconds their sandbox sessions lived since `since` (None:
    ever). A session still open counts until now while its server keeps it fresh, and until
    it was last seen otherwise (its server stopped without ending it)."""
    now = now or _now()
    fresh_after = now - timedelta(seconds=2 * HEARTBEAT_S)
    rows = select(SandboxSession).where(SandboxSession.owner_id.in_(owner_ids))
    if since is not None:
        rows = rows.where(or_(SandboxSession.ended_at.is_(None), SandboxSession.ended_at >= since))
    totals: dict[str, float] = {}
    for row in await session.scalars(rows):
        if row.ended_at is not None:
            end = row.ended_at
        else:
            end = now if row.last_seen_at >= fresh_after else row.last_seen_at
        start = row.started_at if since is None else max(row.started_at, since)
        if end > start:
            totals[row.owner_id] = totals.get(row.owner_id, 0.0) + (end - start).total_seconds()
    return totals


def _now() -> datetime:
    return datetime.now(UTC)
