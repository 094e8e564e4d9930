"""Which server process runs which turn, and what becomes of turns whose process ended.

A turn is stored as it runs, its assistant message `streaming` until the turn ends. If the
process running it is killed (SIGKILL, a crash, the machine going down), nobody is left to
end it: it would stay `streaming` forever. So each process registers itself in
`server_processes` and keeps a heartbeat there; each turn's message records the process
running it (`runner_id`). At start-up, and with every heartbeat after that, a process marks as
`interrupted` the streaming turns whose process is gone:

- a process on the same machine (same boot, same pid namespace) is gone when its pid no
  longer runs, or runs another program (the kernel's start time of the pid differs): known at
  once, so a server restarted after a crash marks its own earlier turns right away;
- a process elsewhere is gone when its heartbeat is older than `STALE_BEATS` heartbeats;
- a turn whose process left no row (it ended without storing its turn) is gone too, and a
  turn with no runner at all (stored before runners existed) once it is older than any turn
  may run (`agent.turn_timeout`).

A process never marks turns of a process that is still alive, wherever it runs: several
servers may share one PostgreSQL. Should a live process be taken for dead (its heartbeat
stuck for a long time on another machine), its turns read `interrupted` until it ends them,
which it still does: the status is then what it stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, or_, select, update

from sandbox_analyst.store import Database, Message, ServerProcess, new_id, utcnow

logger = logging.getLogger(__name__)

INTERRUPTED_ERROR = (
    "the server stopped during the answer (its process ended before the turn was over); "
    "what was shown before is kept: ask again to retry"
)
STALE_BEATS = 6  # heartbeats missed before a process elsewhere is taken for dead
_TURN_GRACE_S = 60.0  # on top of the turn timeout, for turns stored before runners existed


@dataclass(frozen=True)
class ProcessIdentity:
    hostname: str
    machine: str | None
    pid: int
    process_start: int | None

    @classmethod
    def current(cls) -> ProcessIdentity:
        pid = os.getpid()
        return cls(socket.gethostname(), _machine(), pid, process_start(pid))

    def sees_same_pids(self, record: ServerProcess) -> bool:
        return self.machine is not None and record.machine == self.machine

    @staticmethod
    def runs(record: ServerProcess) -> bool:
        """Whether the process of `record` (on this machine) still runs."""
        start = process_start(record.pid)
        if start is None:
            return False
        return record.process_start is None or start == record.process_start


def _machine() -> str | None:
    """This kernel boot and pid namespace: where pids mean the same as ours."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return None  # not Linux: processes are told alive by their heartbeat only
    return f"{boot}/{namespace}"


def process_start(pid: int) -> int | None:
    """The kernel's start time of `pid` (field 22 of /proc/PID/stat); None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold anything, spaces included.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


class TurnRunners:
    """This process's entry in `server_processes`: register it (`start`), keep it alive, mark
    the turns of processes that are gone (`sweep`), and remove it (`stop`)."""

    def __init__(
        self,
        db: Database,
        *,
        heartbeat_s: float,
        turn_timeout_s: float,
        url: str | None = None,
    ) -> None:
        """`url`: where clients reach this process (`server.replica_url`)."""
        self._db = db
        self.url = url
        self.heartbeat_s = heartbeat_s
        self._turn_timeout_s = turn_timeout_s
        self.id = new_id()
        self.identity = ProcessIdentity.current()
        self._beating: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._register()
        await self.sweep()
        self._beating = asyncio.get_running_loop().create_task(self._beat())

    async def stop(self) -> None:
        if self._beating is not None:
            self._beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beating
            self._beating = None
        async with self._db.session() as session:
            await session.execute(delete(ServerProcess).where(ServerProcess.id == self.id))

    async def sweep(self) -> list[str]:
        """Mark as interrupted the streaming turns whose process is gone; their ids."""
        now = utcnow()
        async with self._db.session() as session:
            streaming = (
                await session.execute(
                    select(Message.id, Message.runner_id, Message.created_at).where(
                        Message.status == "streaming",
                        or_(Message.runner_id.is_(None), Message.runner_id != self.id),
                    )
                )
            ).all()
            if not streaming:
                return []
            runner_ids = {runner for _, runner, _ in streaming if runner is not None}
            runners = {
                record.id: record
                for record in await session.scalars(
                    select(ServerProcess).where(ServerProcess.id.in_(runner_ids))
                )
            }
        dead = {runner for runner in runner_ids if not self._alive(runners.get(runner), now)}
        too_old = now - timedelta(seconds=self._turn_timeout_s + _TURN_GRACE_S)
        ended = [
            message_id
            for message_id, runner, created_at in streaming
            if (runner is None and created_at < too_old) or runner in dead
        ]
        if ended:
            await self._mark_interrupted(ended)
            logger.warning(
                "%d turn(s) marked interrupted: the server process running them ended",
                len(ended),
            )
        if dead:
            async with self._db.session() as session:
                await session.execute(delete(ServerProcess).where(ServerProcess.id.in_(dead)))
        return ended

    async def live_elsewhere(self, runner_id: str | None) -> ServerProcess | None:
        """The entry of `runner_id` if it is another OS process and still alive (several
        runners in this one process, as in embedded setups, share their backend)."""
        if runner_id is None or runner_id == self.id:
            return None
        async with self._db.session() as session:
            record = await session.get(ServerProcess, runner_id)
        if record is None or not self._alive(record, utcnow()):
            return None
        if self.identity.sees_same_pids(record) and record.pid == self.identity.pid:
            return None
        return record

    def _alive(self, record: ServerProcess | None, now: datetime) -> bool:
        if record is None:
            return False  # it ended (and removed itself) without storing the turn's end
        if self.identity.sees_same_pids(record):
            return self.identity.runs(record)
        silent = (now - record.heartbeat_at).total_seconds()
        return silent < STALE_BEATS * self.heartbeat_s

    async def _mark_interrupted(self, message_ids: list[str]) -> None:
        async with self._db.session() as session:
            await session.execute(
                update(Message)
                .where(Message.id.in_(message_ids), Message.status == "streaming")
                .values(status="interrupted", error=INTERRUPTED_ERROR, updated_at=utcnow())
            )

    async def _register(self) -> None:
        identity = self.identity
        async with self._db.session() as session:
            session.add(
                ServerProcess(
                    id=self.id,
                    hostname=identity.hostname[:255],
                    machine=identity.machine,
                    pid=identity.pid,
                    process_start=identity.process_start,
                    url=self.url,
                )
            )

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                async with self._db.session() as session:
                    beat = await session.execute(
                        update(ServerProcess)
                        .where(ServerProcess.id == self.id)
                        .values(heartbeat_at=utcnow())
                    )
                if beat.rowcount == 0:  # taken for dead while the database was out of reach
                    await self._register()
                await self.sweep()
            except Exception:
                # The database may be away for a while; the next beat tries again.
                logger.exception("server process heartbeat failed")


__all__ = ["INTERRUPTED_ERROR", "ProcessIdentity", "TurnRunners", "process_start"]
