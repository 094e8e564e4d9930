"""A conversation's stored files and code, as a sandbox rebuild reads them
(`ConversationRecords`, see `service.sandboxes`), and its stored sandbox id (`SandboxIds`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from sqlalchemy import select, update

from sandbox_analyst.service.sandboxes import StoredFile
from sandbox_analyst.store import BlobStore, Conversation, Database, Execution, FileRecord


class StoredSandboxIds:
    """Implements `SandboxIds` on `conversations.sandbox_id`."""

    def __init__(self, db: Database, *, runner_id: str | None = None) -> None:
        """`runner_id`: this process, recorded as the one that made the sandbox."""
        self._db = db
        self._runner_id = runner_id

    async def load(self, conversation_id: str) -> str | None:
        async with self._db.session() as session:
            return await session.scalar(
                select(Conversation.sandbox_id).where(Conversation.id == conversation_id)
            )

    async def save(self, conversation_id: str, sandbox_id: str) -> None:
        # Bookkeeping, not an edit: the conversation keeps its place in the recent list.
        statement = (
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(
                sandbox_id=sandbox_id,
                sandbox_runner_id=self._runner_id,
                updated_at=Conversation.updated_at,
            )
        )
        async with self._db.session() as session:
            await session.execute(statement)


class StoredConversation:
    def __init__(self, db: Database, blobs: BlobStore, owner_id: str, conversation_id: str) -> None:
        self._db = db
        self._blobs = blobs
        self._owner_id = owner_id
        self._conversation_id = conversation_id

    async def uploads(self) -> list[StoredFile]:
        return await self._files("upload")

    async def artifacts(self) -> list[StoredFile]:
        return await self._files("artifact")

    async def successful_cells(self) -> list[str]:
        statement = (
            select(Execution.code)
            .where(
                Execution.conversation_id == self._conversation_id,
                Execution.owner_id == self._owner_id,
                Execution.status == "ok",
            )
            .order_by(Execution.created_at)
        )
        async with self._db.session() as session:
            return list(await session.scalars(statement))

    async def _files(self, kind: str) -> list[StoredFile]:
        statement = (
            select(FileRecord)
            .where(FileRecord.conversation_id == self._conversation_id, FileRecord.kind == kind)
            .order_by(FileRecord.created_at, FileRecord.id)
        )
        async with self._db.session() as session:
            records = list(await session.scalars(statement))
        return [
            StoredFile(
                file_id=record.id,
                name=record.name,
                size=record.size,
                media_type=record.media_type,
                open=self._opener(record.storage_key),
            )
            for record in records
        ]

    def _opener(self, storage_key: str) -> Callable[[], AsyncIterator[bytes]]:
        return lambda: self._blobs.open(storage_key)
