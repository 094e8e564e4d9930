"""Who used how much: per user, the chat turns (by outcome) and the tokens their models read
and wrote, the code that ran and its wall-clock seconds, and the bytes they store now. An
admin's view (`GET /api/admin/usage`, `analyst usage`).

Read from what is stored anyway (messages with their usage, the execution log, files), so it
covers every replica and survives restarts. Periods count by when a turn or a run started;
storage is what is kept now, whatever the period.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from sandbox_analyst.service.errors import Forbidden, NotFound
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.store import Conversation, Database, Execution, FileRecord, Message, User


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

            turns = (
                select(Conversation.owner_id, Message.status, Message.usage)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Message.role == "assistant", Conversation.owner_id.in_(ids))
            )
            if since is not None:
                turns = turns.where(Message.created_at >= since)
            by_status: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for owner_id, status, usage in await session.execute(turns):
                row = report[owner_id]
                row.turns += 1
                by_status[owner_id][status] += 1
                row.input_tokens += int((usage or {}).get("input_tokens") or 0)
                row.output_tokens += int((usage or {}).get("output_tokens") or 0)
            for owner_id, counts in by_status.items():
                report[owner_id].turns_by_status = dict(sorted(counts.items()))

            runs = (
                select(
                    Execution.owner_id,
                    func.count(Execution.id),
                    func.coalesce(func.sum(Execution.duration_s), 0.0),
                )
                .where(Execution.owner_id.in_(ids))
                .group_by(Execution.owner_id)
            )
            if since is not None:
                runs = runs.where(Execution.created_at >= since)
            for owner_id, count, seconds in await session.execute(runs):
                report[owner_id].executions = int(count)
                report[owner_id].execution_seconds = round(float(seconds), 3)

            stored = (
                select(FileRecord.owner_id, func.count(FileRecord.id), func.sum(FileRecord.size))
                .where(FileRecord.owner_id.in_(ids))
                .group_by(FileRecord.owner_id)
            )
            for owner_id, count, size in await session.execute(stored):
                report[owner_id].files = int(count)
                report[owner_id].storage_bytes = int(size or 0)
        return list(report.values())
