"""The sessions and files of LibreChat's Code API, kept in the database and the blob store so
that they outlive sandboxes and server restarts.

A session is a bucket of files with a 21-character id; it belongs to its caller
(`LibreChatCaller`), and to nobody else: another caller is told it does not exist. A file is
named by its session and its own id (LibreChat's `<session_id>/<file_id>`); its `name` is the
path under the sandbox's working directory (`/mnt/data/<name>` for the code).
"""

from __future__ import annotations

import mimetypes
import unicodedata
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from sqlalchemy import delete, exists, select

from sandbox_analyst.service.errors import NotFound, PayloadTooLarge, StorageFull, ValidationError
from sandbox_analyst.service.librechat.identity import (
    LibreChatCaller,
    is_librechat_id,
    new_librechat_id,
)
from sandbox_analyst.store import (
    BlobStore,
    BlobTooLarge,
    Database,
    LibreChatFile,
    LibreChatSession,
    StorageFullError,
)

MAX_NAME_LENGTH = 255
MAX_PATH_LENGTH = 1024


@dataclass(frozen=True)
class StoredFile:
    """What a caller is told of one file."""

    id: str
    session_id: str
    name: str
    size: int
    sha256: str
    content_type: str
    created_at: datetime
    origin: str
    blob_key: str

    @classmethod
    def of(cls, row: LibreChatFile) -> StoredFile:
        return cls(
            id=row.id,
            session_id=row.session_id,
            name=row.name,
            size=row.size,
            sha256=row.sha256,
            content_type=row.content_type,
            created_at=row.created_at,
            origin=row.origin,
            blob_key=row.blob_key,
        )


def upload_name(raw: str | None) -> str:
    """The name an uploaded file gets in the working directory: its last path component, as
    sent, refused (not silently renamed: LibreChat tells the model this name) when it is empty,
    a dot name, or holds control characters."""
    name = unicodedata.normalize("NFC", (raw or "").replace("\\", "/").rsplit("/", 1)[-1])
    if name in ("", ".", ".."):
        raise ValidationError("each uploaded file needs a file name", field="file")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise ValidationError(f"the file name {name!r} holds control characters", field="file")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"file names are at most {MAX_NAME_LENGTH} characters", field="file")
    return name


def file_path(raw: str) -> str:
    """A file ref's `name` as a path inside the working directory (LibreChat may send
    `/mnt/data/x.csv` or `x.csv`); refused when it would leave it."""
    path = raw.removeprefix("/mnt/data/").lstrip("/")
    parts = PurePosixPath(path).parts
    if not parts or any(part in ("", ".", "..") for part in parts) or "\x00" in path:
        raise ValidationError(f"{raw!r} is not a file name inside /mnt/data", field="files")
    if len(path) > MAX_PATH_LENGTH:
        raise ValidationError(f"file paths are at most {MAX_PATH_LENGTH} characters")
    return path


def content_type_of(name: str) -> str:
    guessed, _encoding = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


class LibreChatFiles:
    def __init__(self, db: Database, blobs: BlobStore, *, max_file_bytes: int) -> None:
        self._db = db
        self._blobs = blobs
        self.max_file_bytes = max_file_bytes

    async def new_session(self, caller: LibreChatCaller) -> str:
        session_id = new_librechat_id()
        async with self._db.session() as db:
            db.add(
                LibreChatSession(
                    id=session_id, owner_id=caller.principal.user_id, subject=caller.subject
                )
            )
        return session_id

    async def check_session(self, caller: LibreChatCaller, session_id: str) -> None:
        """NotFound unless `session_id` is one of the caller's sessions."""
        row = None
        if is_librechat_id(session_id):
            async with self._db.session() as db:
                row = await db.get(LibreChatSession, session_id)
        if row is None or not _owns(caller, row):
            raise NotFound(f"no session {session_id!r}")

    async def store(
        self, session_id: str, name: str, stream: AsyncIterable[bytes], *, origin: str
    ) -> StoredFile:
        """Keep `stream` as the file `name` of the session (the caller checked the session)."""
        try:
            blob = await self._blobs.put(stream, max_bytes=self.max_file_bytes)
        except BlobTooLarge:
            raise PayloadTooLarge(
                f"{name} is larger than the file limit of "
                f"{self.max_file_bytes // (1024 * 1024)} MiB (server.max_upload_mb)",
                field="file",
            ) from None
        except StorageFullError:
            raise StorageFull(f"the server's storage is full: {name} was not kept") from None
        row = LibreChatFile(
            id=new_librechat_id(),
            session_id=session_id,
            name=name,
            size=blob.size,
            sha256=blob.sha256,
            blob_key=blob.key,
            content_type=content_type_of(name),
            origin=origin,
        )
        try:
            async with self._db.session() as db:
                db.add(row)
        except BaseException:
            await self._blobs.delete(blob.key)
            raise
        return StoredFile.of(row)

    async def list(self, caller: LibreChatCaller, session_id: str) -> list[StoredFile]:
        await self.check_session(caller, session_id)
        async with self._db.session() as db:
            rows = await db.scalars(
                select(LibreChatFile)
                .where(LibreChatFile.session_id == session_id)
                .order_by(LibreChatFile.created_at, LibreChatFile.id)
            )
            return [StoredFile.of(row) for row in rows]

    async def get(self, caller: LibreChatCaller, session_id: str, file_id: str) -> StoredFile:
        row = await self._owned_file(caller, session_id, file_id)
        return StoredFile.of(row)

    async def resolve(
        self, caller: LibreChatCaller, refs: Iterable[tuple[str, str]]
    ) -> list[StoredFile]:
        """The caller's files named by (session id, file id) pairs, in order; NotFound naming
        the first that is not theirs (or does not exist)."""
        return [await self.get(caller, session_id, file_id) for session_id, file_id in refs]

    def open(self, stored: StoredFile) -> AsyncIterator[bytes]:
        """The bytes of a file the caller was given (`get`, `resolve`)."""
        return self._blobs.open(stored.blob_key)

    async def delete(self, caller: LibreChatCaller, session_id: str, file_id: str) -> None:
        row = await self._owned_file(caller, session_id, file_id)
        async with self._db.session() as db:
            stored = await db.get(LibreChatFile, row.id)
            if stored is not None:
                await db.delete(stored)
        await self._blobs.delete(row.blob_key)

    async def sweep(self, older_than: datetime, *, batch: int = 500) -> int:
        """Delete files made before `older_than`, then the sessions left empty that are as
        old; returns how many files went."""
        removed = 0
        while True:
            async with self._db.session() as db:
                rows = list(
                    await db.scalars(
                        select(LibreChatFile)
                        .where(LibreChatFile.created_at < older_than)
                        .limit(batch)
                    )
                )
                keys = [row.blob_key for row in rows]
                await db.execute(
                    delete(LibreChatFile).where(LibreChatFile.id.in_([row.id for row in rows]))
                )
            for key in keys:  # after the rows: a blob is never missing under a listed file
                await self._blobs.delete(key)
            removed += len(rows)
            if len(rows) < batch:
                break
        async with self._db.session() as db:
            await db.execute(
                delete(LibreChatSession)
                .where(LibreChatSession.created_at < older_than)
                .where(~exists().where(LibreChatFile.session_id == LibreChatSession.id))
            )
        return removed

    async def _owned_file(
        self, caller: LibreChatCaller, session_id: str, file_id: str
    ) -> LibreChatFile:
        if is_librechat_id(session_id) and is_librechat_id(file_id):
            async with self._db.session() as db:
                found = (
                    await db.execute(
                        select(LibreChatFile, LibreChatSession)
                        .join(LibreChatSession, LibreChatSession.id == LibreChatFile.session_id)
                        .where(LibreChatFile.id == file_id)
                        .where(LibreChatFile.session_id == session_id)
                    )
                ).first()
            if found is not None and _owns(caller, found[1]):
                return found[0]
        raise NotFound(f"no file {session_id}/{file_id}")


def _owns(caller: LibreChatCaller, row: LibreChatSession) -> bool:
    return row.owner_id == caller.principal.user_id and row.subject == caller.subject
