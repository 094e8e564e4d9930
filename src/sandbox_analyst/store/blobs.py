"""Blob storage: the bytes of uploads and artifacts, addressed by keys we generate.

A key is a random hex string chosen by the store, never anything derived from a user's file
name, so no name can escape the storage root. `LocalBlobStore` is the embedded default; the
`BlobStore` interface is the seam for an S3-compatible store.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sandbox_analyst.store.capacity import StorageFullError, is_out_of_space

CHUNK_SIZE = 256 * 1024
_KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    sha256: str


class BlobError(Exception):
    """Base class of blob storage errors."""


class BlobTooLarge(BlobError):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"content is larger than the limit of {max_bytes} bytes")
        self.max_bytes = max_bytes


class BlobNotFound(BlobError):
    def __init__(self, key: str) -> None:
        super().__init__(f"no blob with key {key!r}")
        self.key = key


class BlobStore(ABC):
    @abstractmethod
    async def put(self, stream: AsyncIterable[bytes], *, max_bytes: int | None = None) -> BlobInfo:
        """Store everything `stream` yields. All or nothing: when the stream breaks, exceeds
        `max_bytes` (BlobTooLarge) or finds no space left (StorageFullError), nothing of it
        remains."""

    @abstractmethod
    def open(self, key: str) -> AsyncIterator[bytes]:
        """The content of `key`, in chunks. Raises BlobNotFound on first iteration."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove `key`; a key that does not exist is not an error."""

    def path_for(self, key: str) -> Path | None:
        """A local file holding the content, where the store has one (lets the web server
        send it efficiently); None otherwise."""
        return None


async def _bytes_stream(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK_SIZE):
        yield data[start : start + CHUNK_SIZE]


def as_stream(data: bytes | AsyncIterable[bytes]) -> AsyncIterable[bytes]:
    return _bytes_stream(data) if isinstance(data, bytes | bytearray) else data


class LocalBlobStore(BlobStore):
    """Blobs as files under `root/<first two hex digits>/<key>`, written to `root/tmp` first
    and renamed into place, so a crash never leaves a half-written blob under a real key."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"

    def _path(self, key: str) -> Path:
        if not _KEY_PATTERN.match(key):
            raise BlobNotFound(key)
        return self.root / key[:2] / key

    async def put(self, stream: AsyncIterable[bytes], *, max_bytes: int | None = None) -> BlobInfo:
        try:
            return await self._put(stream, max_bytes)
        except OSError as exc:
            if is_out_of_space(exc):
                raise StorageFullError("the server's storage is full: nothing was stored") from exc
            raise

    async def _put(self, stream: AsyncIterable[bytes], max_bytes: int | None) -> BlobInfo:
        key = uuid.uuid4().hex
        self._tmp.mkdir(parents=True, exist_ok=True)
        tmp_path = self._tmp / f"{key}.part"
        digest = hashlib.sha256()
        size = 0
        handle = await asyncio.to_thread(open, tmp_path, "xb")
        try:
            async for chunk in stream:
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise BlobTooLarge(max_bytes)
                digest.update(chunk)
                await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(_flush_and_sync, handle)
            handle.close()
            final = self._path(key)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_path, final)
        except BaseException:
            # Closing flushes what is buffered, which fails again on a full disk: the
            # half-written file goes whatever closing says.
            with contextlib.suppress(OSError):
                handle.close()
            tmp_path.unlink(missing_ok=True)
            raise
        return BlobInfo(key=key, size=size, sha256=digest.hexdigest())

    async def open(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_SIZE):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        try:
            path = self._path(key)
        except BlobNotFound:
            return
        path.unlink(missing_ok=True)

    def path_for(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None


def _flush_and_sync(handle: object) -> None:
    handle.flush()  # type: ignore[attr-defined]
    os.fsync(handle.fileno())  # type: ignore[attr-defined]
