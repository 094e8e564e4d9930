"""Files: uploads people make and artifacts their code produces.

Uploads are streamed straight into the blob store (never held in memory whole), limited in
size, and typed by sniffing their content. Metadata rows are written only once the blob is
complete, and a blob is removed again if its row cannot be written: nothing half-made stays.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sandbox_analyst.agent import ArtifactUsage
from sandbox_analyst.service import access
from sandbox_analyst.service.errors import (
    NotFound,
    PayloadTooLarge,
    StorageFull,
    UnsupportedMediaType,
    ValidationError,
)
from sandbox_analyst.service.file_links import signed_content_url
from sandbox_analyst.service.filenames import safe_display_name
from sandbox_analyst.service.media import SNIFF_BYTES, sniff_media_type
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.quotas import QuotaService
from sandbox_analyst.service.signing import UrlSigner
from sandbox_analyst.store import (
    BlobNotFound,
    BlobStore,
    BlobTooLarge,
    Conversation,
    Database,
    FileRecord,
    StorageFullError,
    as_stream,
    looks_like_id,
)
from sandbox_analyst.telemetry import FileStored, emit

FileKind = Literal["upload", "artifact"]
DEFAULT_LINK_TTL_S = 24 * 3600
# Served inline (for <img> tags); everything else downloads as an attachment. No SVG: it can
# carry scripts.
INLINE_MEDIA_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_NOT_STORED = "the server's storage is full (ask its operator to free space): "


@dataclass(frozen=True)
class SignedLink:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class FileContent:
    record: FileRecord
    path: Path | None  # a local file with the bytes, where the blob store has one
    chunks: AsyncIterator[bytes]

    @property
    def inline(self) -> bool:
        return self.record.media_type in INLINE_MEDIA_TYPES


class _Head:
    """Passes a stream through while keeping its first bytes for sniffing."""

    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream
        self.head = b""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            if len(self.head) < SNIFF_BYTES:
                self.head += chunk[: SNIFF_BYTES - len(self.head)]
            yield chunk


class FileService:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        signer: UrlSigner,
        *,
        max_upload_bytes: int,
        public_url: str | None = None,
        quotas: QuotaService | None = None,
    ) -> None:
        """`quotas`: the owners' storage quotas an upload must keep to (without it, none)."""
        self._quotas = quotas
        self._db = db
        self._blobs = blobs
        self._signer = signer
        self.max_upload_bytes = max_upload_bytes
        self._public_url = public_url

    async def upload(
        self,
        principal: Principal,
        stream: AsyncIterable[bytes],
        *,
        filename: str | Callable[[], str | None] | None,
        conversation_id: str | Callable[[], str | None] | None = None,
    ) -> FileRecord:
        """Store an upload. `filename` and `conversation_id` may be callables, asked once the
        stream is consumed (a multipart body carries them inside the stream); a conversation
        known up front is checked before anything is stored. `QuotaExceeded` when the file
        would take the owner past their storage quota (it is not kept)."""
        owner_id = principal.user_id
        if isinstance(conversation_id, str):
            # The file belongs to whoever owns the conversation (an admin may add to others').
            owner_id = (await self._owned_conversation(principal, conversation_id)).owner_id
        head = _Head(stream)
        try:
            blob = await self._blobs.put(head, max_bytes=self.max_upload_bytes)
        except BlobTooLarge:
            raise PayloadTooLarge(
                f"the file is larger than the upload limit of "
                f"{self.max_upload_bytes // (1024 * 1024)} MiB",
                field="file",
            ) from None
        except StorageFullError:
            raise StorageFull(_NOT_STORED + "the upload was not kept", field="file") from None
        media_type = sniff_media_type(head.head, complete=blob.size <= SNIFF_BYTES)
        if media_type is None:
            await self._blobs.delete(blob.key)
            raise UnsupportedMediaType(
                "unsupported file type: upload CSV, TSV, Excel, Parquet, JSON or text",
                field="file",
            )
        if callable(conversation_id):
            conversation_id = conversation_id()
            if conversation_id is not None:
                try:
                    conversation = await self._owned_conversation(principal, conversation_id)
                except BaseException:
                    await self._blobs.delete(blob.key)
                    raise
                owner_id = conversation.owner_id
        if self._quotas is not None:
            try:  # refused past the owner's storage quota; what they keep stays
                await self._quotas.check_storage(owner_id, blob.size)
            except BaseException:
                await self._blobs.delete(blob.key)
                raise
        record = FileRecord(
            owner_id=owner_id,
            conversation_id=conversation_id,
            name=safe_display_name(filename() if callable(filename) else filename),
            size=blob.size,
            sha256=blob.sha256,
            media_type=media_type,
            kind="upload",
            storage_key=blob.key,
        )
        return await self._insert(record)

    async def create_artifact(
        self,
        owner_id: str,
        conversation_id: str,
        name: str,
        data: bytes | AsyncIterable[bytes],
        media_type: str,
    ) -> FileRecord:
        """Store a file the code of `conversation_id` produced (a chart, a CSV). Trusted caller
        (the chat service): the media type is taken as given."""
        async with self._db.session() as session:
            conversation = await session.get(Conversation, conversation_id)
        if conversation is None or conversation.owner_id != owner_id:
            raise NotFound("conversation not found")
        try:
            blob = await self._blobs.put(as_stream(data))
        except StorageFullError:
            raise StorageFull(_NOT_STORED + f"{name} was not kept") from None
        record = FileRecord(
            owner_id=owner_id,
            conversation_id=conversation_id,
            name=safe_display_name(name),
            size=blob.size,
            sha256=blob.sha256,
            media_type=media_type,
            kind="artifact",
            storage_key=blob.key,
        )
        return await self._insert(record)

    async def saved_artifacts(
        self, owner_id: str, conversation_id: str
    ) -> tuple[list[str], ArtifactUsage]:
        """Names of the files the code of `conversation_id` produced (a turn numbers its
        charts after them), and their count and bytes (what the conversation's artifact
        limits count against), from one query. Trusted caller (the chat service)."""
        query = select(FileRecord.name, FileRecord.size).where(
            FileRecord.owner_id == owner_id,
            FileRecord.conversation_id == conversation_id,
            FileRecord.kind == "artifact",
        )
        async with self._db.session() as session:
            rows = (await session.execute(query)).all()
        names = [name for name, _size in rows]
        return names, ArtifactUsage(len(rows), sum(size for _name, size in rows))

    async def list(
        self,
        principal: Principal,
        *,
        conversation_id: str | None = None,
        kind: FileKind | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[FileRecord]:
        statement = select(FileRecord).where(access.owned_by(principal, FileRecord))
        if conversation_id is not None:
            statement = statement.where(FileRecord.conversation_id == conversation_id)
        if kind is not None:
            statement = statement.where(FileRecord.kind == kind)
        statement = statement.order_by(FileRecord.created_at.desc(), FileRecord.id)
        async with self._db.session() as session:
            return list(await session.scalars(statement.limit(limit).offset(offset)))

    async def get(self, principal: Principal, file_id: str) -> FileRecord:
        async with self._db.session() as session:
            return access.ensure_owns_file(principal, await _load(session, file_id))

    async def open_content(self, principal: Principal, file_id: str) -> FileContent:
        return await self._content(await self.get(principal, file_id))

    async def open_signed_content(self, file_id: str, signature: str) -> FileContent:
        """The content behind a signed link; NotFound when the link is wrong or expired."""
        if not looks_like_id(file_id) or not self._signer.verify(file_id, signature):
            raise NotFound("file not found")
        async with self._db.session() as session:
            record = await _load(session, file_id)
        if record is None:
            raise NotFound("file not found")
        return await self._content(record)

    async def _content(self, record: FileRecord) -> FileContent:
        path = self._blobs.path_for(record.storage_key)
        if path is not None:
            return FileContent(
                record=record, path=path, chunks=self._blobs.open(record.storage_key)
            )
        # The first chunk is read here, so that a blob gone missing or a store that cannot be
        # reached is an error of the request, not a response broken off after its headers.
        chunks = self._blobs.open(record.storage_key)
        try:
            first = await anext(chunks, b"")
        except BlobNotFound:
            raise NotFound(f"the content of {record.name} is missing from storage") from None
        return FileContent(record=record, path=None, chunks=_prepend(first, chunks))

    async def signed_url(
        self,
        principal: Principal,
        file_id: str,
        *,
        ttl_s: int = DEFAULT_LINK_TTL_S,
        base_url: str | None = None,
    ) -> SignedLink:
        """A link to the content that works without credentials until it expires; absolute
        under `server.public_url` when it is set, else under `base_url` when given."""
        if not 0 < ttl_s <= 30 * 24 * 3600:
            raise ValidationError("ttl_s must be between 1 second and 30 days", field="ttl_s")
        record = await self.get(principal, file_id)
        expires = int(time.time()) + ttl_s
        signature = self._signer.sign(record.id, expires)
        url = signed_content_url(record.id, signature, self._public_url or base_url)
        return SignedLink(url=url, expires_at=datetime.fromtimestamp(expires, UTC))

    async def attach(self, principal: Principal, file_id: str, conversation_id: str) -> FileRecord:
        await self._owned_conversation(principal, conversation_id)
        async with self._db.session() as session:
            record = access.ensure_owns_file(principal, await _load(session, file_id))
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None or conversation.owner_id != record.owner_id:
                # An admin may not file one person's data in someone else's conversation.
                raise NotFound("conversation not found", field="conversation_id")
            record.conversation_id = conversation_id
        return record

    async def delete(self, principal: Principal, file_id: str) -> None:
        async with self._db.session() as session:
            record = access.ensure_owns_file(principal, await _load(session, file_id))
            await session.delete(record)
        await self._blobs.delete(record.storage_key)

    async def _owned_conversation(self, principal: Principal, conversation_id: str) -> Conversation:
        async with self._db.session() as session:
            conversation = (
                await session.get(Conversation, conversation_id)
                if looks_like_id(conversation_id)
                else None
            )
        try:
            return access.ensure_owns_conversation(principal, conversation)
        except NotFound as exc:
            exc.field = "conversation_id"
            raise

    async def _insert(self, record: FileRecord) -> FileRecord:
        try:
            async with self._db.session() as session:
                session.add(record)
        except BaseException as exc:
            await self._blobs.delete(record.storage_key)
            if isinstance(exc, StorageFullError):
                raise StorageFull(_NOT_STORED + f"{record.name} was not kept") from None
            raise
        emit(FileStored(record.kind, record.size))
        return record


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    try:
        if first:
            yield first
        async for chunk in rest:
            yield chunk
    finally:
        close = getattr(rest, "aclose", None)  # let go of the blob now, not when collected
        if close is not None:
            await close()


async def _load(session: AsyncSession, file_id: str) -> FileRecord | None:
    return await session.get(FileRecord, file_id) if looks_like_id(file_id) else None
