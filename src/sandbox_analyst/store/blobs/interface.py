"""What every blob store does: keep the bytes of uploads and artifacts under keys it chooses.

A key is a random hex string made by the store, never anything derived from a user's file name,
so no name can reach outside the store. Implementations: `LocalBlobStore` (a directory, the
embedded default) and `S3BlobStore` (S3-compatible object storage, shared by replicas).
"""

from __future__ import annotations

import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path

CHUNK_SIZE = 256 * 1024
_KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    sha256: str


def new_key() -> str:
    return uuid.uuid4().hex


def is_key(key: str) -> bool:
    """Whether `key` is one a store could have made (anything else names no blob)."""
    return bool(_KEY_PATTERN.match(key))


class BlobStore(ABC):
    @abstractmethod
    def describe(self) -> str:
        """Where the blobs are, for operators (`analyst serve`, `analyst doctor`)."""

    @abstractmethod
    async def check(self) -> None:
        """Raise BlobStoreUnavailable, saying what is wrong, unless the store can be used."""

    @abstractmethod
    async def put(self, stream: AsyncIterable[bytes], *, max_bytes: int | None = None) -> BlobInfo:
        """Store everything `stream` yields under a new key. All or nothing: when the stream
        breaks, exceeds `max_bytes` (BlobTooLarge), finds no space left (StorageFullError) or
        the store fails (BlobStoreUnavailable), nothing of it remains."""

    @abstractmethod
    def open(self, key: str) -> AsyncIterator[bytes]:
        """The content of `key`, in chunks of at most CHUNK_SIZE, never read whole. Raises
        BlobNotFound (or BlobStoreUnavailable) on first iteration."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove `key`; a key that does not exist is not an error."""

    def path_for(self, key: str) -> Path | None:
        """A local file holding the content, where the store has one (lets the web server
        send it efficiently); None otherwise."""
        return None

    @abstractmethod
    async def close(self) -> None:
        """Release connections and threads; the store is not used afterwards."""


async def _bytes_stream(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK_SIZE):
        yield data[start : start + CHUNK_SIZE]


def as_stream(data: bytes | AsyncIterable[bytes]) -> AsyncIterable[bytes]:
    return _bytes_stream(data) if isinstance(data, bytes | bytearray) else data
