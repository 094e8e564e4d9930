"""Blobs as files in a local directory: the embedded default (one machine, no cloud account)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

from sandbox_analyst.store.blobs.errors import BlobNotFound, BlobStoreUnavailable, BlobTooLarge
from sandbox_analyst.store.blobs.interface import CHUNK_SIZE, BlobInfo, BlobStore, is_key, new_key
from sandbox_analyst.store.capacity import StorageFullError, is_out_of_space


class LocalBlobStore(BlobStore):
    """Blobs as files under `root/<first two hex digits>/<key>`, written to `root/tmp` first
    and renamed into place, so a crash never leaves a half-written blob under a real key."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"

    def describe(self) -> str:
        return f"local directory {self.root}"

    async def check(self) -> None:
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BlobStoreUnavailable(
                f"cannot create the blob directory {self.root}: {exc.strerror}"
            ) from exc
        if not os.access(self._tmp, os.W_OK | os.X_OK):
            raise BlobStoreUnavailable(f"the blob directory {self.root} is not writable")

    def _path(self, key: str) -> Path:
        if not is_key(key):
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
        key = new_key()
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

    async def close(self) -> None:
        """Nothing to release: every file is closed when its read or write ends."""


def _flush_and_sync(handle: object) -> None:
    handle.flush()  # type: ignore[attr-defined]
    os.fsync(handle.fileno())  # type: ignore[attr-defined]
