"""Who used how much: per user, the chat turns (by outcome) and the tokens their models read
and wrote, the code that ran with its wall-clock and CPU seconds, the minutes their sandbox
sessions lived, and the bytes they store now. An admin's view (`GET /api/admin/usage`,
`analyst usage`).

Read from what is stored anyway (messages with their usage, the execution log, the sandbox
time log, files), so it covers every replica and survives restarts. Periods count by when a
turn or a run started, and the part of a session's life inside them; storage is what is kept
now, whatever the period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sandbox_analyst.service.errors import Forbidden, NotFound
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.sandbox_time import sandbox_seconds
from sandbox_analyst.store import Conversation, Database, Execution, FileRecord, Message, User


@dataclass
class TurnUsage:
    """One user's chat turns (by status) and their models' tokens."""

    turns: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


async def turn_usage(
    session: AsyncSession, owner_ids: Sequence[str], since: datetime | None
) -> dict[str, TurnUsage]:
    """Per owner with any: the turns started since `since` (None: ever) and their tokens (a
    running turn's are stored when it ends)."""
    turns = (
        select(Conversation.owner_id, Message.status, Message.usage)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.role == "assistant", Conversation.owner_id.in_(owner_ids))
    )
    if since is not None:
        turns = turns.where(Message.created_at >= since)
    found: dict[str, TurnUsage] = defaultdict(TurnUsage)
    for owner_id, status, usage in await session.execute(turns):
        row = found[owner_id]
        row.turns += 1
        row.by_status[status] += 1
        row.input_tokens += int((usage or {}).get("input_tokens") or 0)
        row.output_tokens += int((usage or {}).get("output_tokens") or 0)
    return dict(found)


@dataclass(frozen=True)
class CodeRuns:
    count: int
    seconds: float
    """Wall-clock."""
    cpu_seconds: float
    """The CPU time the runs used; a run whose CPU time the backend could not tell (E2B, or
    stored before it was recorded) counts its wall-clock seconds."""


async def code_runs(
    session: AsyncSession, owner_ids: Sequence[str], since: datetime | None
) -> dict[str, CodeRuns]:
    """Per owner with any: the code runs started since `since` (None: ever), from the
    execution log."""
    runs = (
        select(
            Execution.owner_id,
            func.count(Execution.id),
            func.coalesce(func.sum(Execution.duration_s), 0.0),
            func.coalesce(
                func.sum(func.coalesce(Execution.cpu_seconds, Execution.duration_s)), 0.0
            ),
        )
        .where(Execution.owner_id.in_(owner_ids))
        .group_by(Execution.owner_id)
    )
    if since is not None:
        runs = runs.where(Execution.created_at >= since)
    return {
        owner_id: CodeRuns(int(count), float(seconds), float(cpu))
        for owner_id, count, seconds, cpu in await session.execute(runs)
    }


async def stored_files(
    session: AsyncSession, owner_ids: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """Per owner with any: the files they keep now and their bytes."""
    stored = (
        select(FileRecord.owner_id, func.count(FileRecord.id), func.sum(FileRecord.size))
        .where(FileRecord.owner_id.in_(owner_ids))
        .group_by(FileRecord.owner_id)
    )
    return {
        owner_id: (int(count), int(size or 0))
        for owner_id, count, size in await session.execute(stored)
    }


@dataclass
class UserUsage:
    user_id: str
    name: str
    turns: int = 0
    turns_by_status: dict[str, int] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    executions: int = 0
    execution_seconds: float = 0.0
    cpu_seconds: float = 0.0
    sandbox_minutes: float = 0.0
    storage_bytes: int = 0
    files: int = 0


class UsageService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def report(
        self, principal: Principal, *, since: datetime | None = None, user: str | None = None
    ) -> list[UserUsage]:
        """Every user's usage since `since` (None: ever), or only the user named `user`;
        `NotFound` for an unknown name. Admins only."""
        if not principal.is_admin:
            raise Forbidden("only an admin may see usage")
        async with self._db.session() as session:
            users_query = select(User).order_by(User.name)
            if user is not None:
                users_query = users_query.where(User.name == user)
            users = list(await session.scalars(users_query))
            if user is not None and not users:
                raise NotFound(f"no user named {user!r}")
            ids = [u.id for u in users]
            report = {u.id: UserUsage(u.id, u.name) for u in users}

            for owner_id, turns in (await turn_usage(session, ids, since)).items():
                row = report[owner_id]
                row.turns = turns.turns
                row.turns_by_status = dict(sorted(turns.by_status.items()))
                row.input_tokens = turns.input_tokens
                row.output_tokens = turns.output_tokens
            for owner_id, runs in (await code_runs(session, ids, since)).items():
                report[owner_id].executions = runs.count
                report[owner_id].execution_seconds = round(runs.seconds, 3)
                report[owner_id].cpu_seconds = round(runs.cpu_seconds, 3)
            for owner_id, seconds in (await sandbox_seconds(session, ids, since)).items():
                report[owner_id].sandbox_minutes = round(seconds / 60, 2)
            for owner_id, (count, size) in (await stored_files(session, ids)).items():
                report[owner_id].files = count
                report[owner_id].storage_bytes = size
        return list(report.values())
