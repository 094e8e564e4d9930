"""A conversation's stored files and code, as a sandbox rebuild reads them
(implements `ConversationRecords`, see `service.sandboxes`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from sqlalchemy import select

from sandbox_analyst.service.sandboxes import StoredFile
from sandbox_analyst.store import BlobStore, Database, Execution, FileRecord


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
