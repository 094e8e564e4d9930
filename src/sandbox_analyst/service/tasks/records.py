"""A task's rows: the task, its step log (one row per logged event, in order), its result
files (their bytes in the blob store), and the zip archive of them."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import zipfile
from collections.abc import AsyncIterator

from sqlalchemy import update

from sandbox_analyst.service.tasks.changes import ChangeSet
from sandbox_analyst.service.tasks.events import TaskEndEvent, TaskEvent, event_payload
from sandbox_analyst.service.tasks.requests import TaskRequest, TaskStatus
from sandbox_analyst.store import (
    BlobError,
    BlobStore,
    Database,
    StorageFullError,
    Task,
    TaskFile,
    TaskStep,
    as_stream,
    utcnow,
)

logger = logging.getLogger(__name__)

_ZIP_CHUNK = 1 << 16
_ZIP_IN_MEMORY = 16 * 1024 * 1024  # a larger archive is spooled to a temporary file


class TaskRecords:
    def __init__(self, db: Database, blobs: BlobStore) -> None:
        self._db = db
        self._blobs = blobs
        self._next_seq: dict[str, int] = {}  # one writer per task: the process running it

    async def create(
        self,
        *,
        owner_id: str,
        assistant_id: str | None,
        request: TaskRequest,
        template: str,
        max_steps: int,
        timeout: float,
        runner_id: str | None,
    ) -> Task:
        task = Task(
            owner_id=owner_id,
            assistant_id=assistant_id,
            prompt=request.prompt,
            template=template,
            permission=request.permission,
            max_steps=max_steps,
            timeout_s=timeout,
            status=TaskStatus.RUNNING,
            summary="",
            runner_id=runner_id,
        )
        async with self._db.session() as session:
            session.add(task)
        self._next_seq[task.id] = 0
        return task

    async def add_step(self, task_id: str, event: TaskEvent) -> None:
        seq = self._next_seq.get(task_id, 0)
        self._next_seq[task_id] = seq + 1
        if isinstance(event, TaskEndEvent):  # the last one
            del self._next_seq[task_id]
        async with self._db.session() as session:
            session.add(
                TaskStep(task_id=task_id, seq=seq, kind=event.type, data=event_payload(event))
            )

    def forget(self, task_id: str) -> None:
        """A task that ended before its first step (it never got a sandbox)."""
        self._next_seq.pop(task_id, None)

    async def finish(
        self,
        task_id: str,
        status: TaskStatus,
        summary: str,
        error: str | None,
        usage: dict[str, int] | None = None,
    ) -> None:
        async with self._db.session() as session:
            await session.execute(
                update(Task)
                .where(Task.id == task_id)
                .values(
                    status=status, summary=summary, error=error, usage=usage, finished_at=utcnow()
                )
            )

    async def store_files(self, task_id: str, changes: ChangeSet) -> list[TaskFile]:
        """One row per change; the bytes of each file that has some go to the blob store. A
        file the store cannot take is listed without its bytes, and why goes in the log."""
        records = []
        for change in changes.files:
            key = None
            if change.data is not None:
                try:
                    key = (await self._blobs.put(as_stream(change.data))).key
                except (BlobError, StorageFullError) as exc:
                    logger.warning("task %s: %s was not stored: %s", task_id, change.path, exc)
            records.append(
                TaskFile(
                    task_id=task_id,
                    path=change.path,
                    change=change.change,
                    size=change.size,
                    sha256=change.sha256,
                    media_type=change.media_type,
                    storage_key=key,
                    diff=change.diff,
                )
            )
        async with self._db.session() as session:
            session.add_all(records)
        return records

    def open(self, key: str) -> AsyncIterator[bytes]:
        return self._blobs.open(key)

    async def zip(self, files: list[TaskFile]) -> AsyncIterator[bytes]:
        """The files as one zip archive, under their workdir paths, streamed."""
        with tempfile.SpooledTemporaryFile(max_size=_ZIP_IN_MEMORY) as spool:
            with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for record in files:
                    assert record.storage_key is not None
                    data = b"".join([chunk async for chunk in self.open(record.storage_key)])
                    await asyncio.to_thread(archive.writestr, record.path, data)
            spool.seek(0)
            while chunk := await asyncio.to_thread(spool.read, _ZIP_CHUNK):
                yield chunk
