"""Turn ownership shared by every server process on one database (several replicas).

A conversation runs one turn at a time, whichever replica was asked. The claim is the turn's
streaming assistant message: it is inserted together with the user message, under the
conversation's row lock, and a partial unique index (`uq_messages_one_streaming`) refuses a
second streaming message in the same conversation, so exactly one of two racing replicas wins.
The claim is released when the message leaves `streaming`: the turn ends (any way), or its
process is found dead and its turn marked `interrupted` (runners.py).

Cancel from any replica: `request_cancel` stamps `cancel_requested_at` on the streaming
message; the replica running the turn polls for its own turns' stamps (`cancel_requested`)
every `CANCEL_POLL_S` while it runs turns. Polling, on PostgreSQL and SQLite alike: one
indexed query per replica with running turns, and no connection held open for LISTEN.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sandbox_analyst.service.errors import Conflict, NotFound
from sandbox_analyst.store import Conversation, Database, Message, utcnow

CANCEL_POLL_S = 0.25  # how soon a turn notices a cancel asked on another replica


class TurnAlreadyRunning(Conflict):
    def __init__(self, conversation_id: str) -> None:
        super().__init__(
            "a turn is already running in this conversation; wait for it to end or "
            f"cancel it with POST /api/conversations/{conversation_id}/cancel"
        )


class TurnClaims:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(
        self, conversation_id: str, content: str, *, runner_id: str | None
    ) -> tuple[Message, Message]:
        """Store the user message and the turn's streaming assistant message, in one
        transaction; raises `TurnAlreadyRunning` when a turn streams here already."""
        for _attempt in range(5):
            try:
                async with self._db.session() as session:
                    # The conversation's row lock, taken by touching it: appends to one
                    # conversation queue on PostgreSQL (SQLite transactions already take
                    # the write lock).
                    touched = await session.scalar(
                        update(Conversation)
                        .where(Conversation.id == conversation_id)
                        .values(updated_at=utcnow())
                        .returning(Conversation.id)
                    )
                    if touched is None:
                        raise NotFound("conversation not found")
                    # The last number and whether a turn streams, in one look at the
                    # conversation's messages.
                    last, streaming = (
                        await session.execute(
                            select(
                                func.max(Message.seq),
                                func.count(Message.id).filter(Message.status == "streaming"),
                            ).where(Message.conversation_id == conversation_id)
                        )
                    ).one()
                    if streaming:
                        raise TurnAlreadyRunning(conversation_id)
                    seq = (last or 0) + 1
                    user = Message(
                        conversation_id=conversation_id, seq=seq, role="user", content=content
                    )
                    assistant = Message(
                        conversation_id=conversation_id,
                        seq=seq + 1,
                        role="assistant",
                        content="",
                        status="streaming",
                        runner_id=runner_id,
                    )
                    session.add_all([user, assistant])
                return user, assistant
            except IntegrityError:
                # Another writer took the sequence numbers, or (the index) the turn's claim.
                async with self._db.session() as session:
                    if await self._streaming(session, conversation_id):
                        raise TurnAlreadyRunning(conversation_id) from None
        raise Conflict("could not start the turn: too many concurrent writers")

    async def request_cancel(self, conversation_id: str) -> bool:
        """Ask whichever process runs the conversation's turn to cancel it; False when none
        streams."""
        async with self._db.session() as session:
            result = await session.execute(
                update(Message)
                .where(Message.conversation_id == conversation_id, Message.status == "streaming")
                .values(cancel_requested_at=utcnow())
            )
        return result.rowcount > 0

    async def cancel_requested(self, message_ids: Collection[str]) -> list[str]:
        """Those of `message_ids` (turns this process runs) someone asked to cancel."""
        if not message_ids:
            return []
        async with self._db.session() as session:
            found = await session.scalars(
                select(Message.id).where(
                    Message.id.in_(list(message_ids)),
                    Message.status == "streaming",
                    Message.cancel_requested_at.is_not(None),
                )
            )
            return list(found)

    @staticmethod
    async def _streaming(session: AsyncSession, conversation_id: str) -> bool:
        found = await session.scalar(
            select(Message.id).where(
                Message.conversation_id == conversation_id, Message.status == "streaming"
            )
        )
        return found is not None


__all__ = ["CANCEL_POLL_S", "TurnAlreadyRunning", "TurnClaims"]
