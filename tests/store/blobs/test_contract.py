"""What every blob store does, the local directory and S3 alike: all or nothing, keys chosen
by the store, content streamed in bounded chunks both ways."""

from __future__ import annotations

import asyncio
import hashlib
import re
import tracemalloc
from collections.abc import AsyncIterator

import pytest

from sandbox_analyst.store import BlobNotFound, BlobStore, BlobTooLarge, as_stream
from sandbox_analyst.store.blobs import CHUNK_SIZE
from tests.store.blobs.conftest import leftovers, read_all

MIB = 1024 * 1024


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def generated(total: int, piece: int = 64 * 1024) -> AsyncIterator[bytes]:
    """`total` bytes that differ from place to place, made as they are asked for."""
    for start in range(0, total, piece):
        yield hashlib.sha256(str(start).encode()).digest() * (min(piece, total - start) // 32)


async def test_put_then_read_gives_the_same_bytes_size_and_digest(blob_store: BlobStore) -> None:
    info = await blob_store.put(chunks(b"hello ", b"world"))
    assert re.fullmatch(r"[0-9a-f]{32}", info.key)
    assert info.size == 11
    assert info.sha256 == hashlib.sha256(b"hello world").hexdigest()
    assert await read_all(blob_store, info.key) == b"hello world"


async def test_bytes_are_accepted_as_a_stream(blob_store: BlobStore) -> None:
    data = bytes(range(256)) * 5000
    info = await blob_store.put(as_stream(data))
    assert await read_all(blob_store, info.key) == data


async def test_an_empty_blob_is_a_blob(blob_store: BlobStore) -> None:
    info = await blob_store.put(chunks())
    assert info.size == 0
    assert await read_all(blob_store, info.key) == b""


async def test_storing_again_makes_a_new_blob_and_never_overwrites(blob_store: BlobStore) -> None:
    first = await blob_store.put(chunks(b"same"))
    second = await blob_store.put(chunks(b"same"))
    assert first.key != second.key
    await blob_store.delete(first.key)
    assert await read_all(blob_store, second.key) == b"same"


async def test_a_deleted_blob_is_gone_and_deleting_again_is_fine(blob_store: BlobStore) -> None:
    info = await blob_store.put(chunks(b"short-lived"))
    await blob_store.delete(info.key)
    with pytest.raises(BlobNotFound):
        await read_all(blob_store, info.key)
    await blob_store.delete(info.key)
    assert leftovers(blob_store) == []


async def test_a_key_never_stored_is_not_found(blob_store: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        await read_all(blob_store, "0" * 32)


@pytest.mark.parametrize("key", ["../../etc/passwd", "/etc/passwd", "a" * 32 + "/..", ""])
async def test_keys_the_store_did_not_make_do_not_exist(blob_store: BlobStore, key: str) -> None:
    with pytest.raises(BlobNotFound):
        await read_all(blob_store, key)
    await blob_store.delete(key)


async def test_too_large_leaves_nothing(blob_store: BlobStore) -> None:
    with pytest.raises(BlobTooLarge):
        await blob_store.put(chunks(b"x" * 600, b"x" * 600), max_bytes=1000)
    assert leftovers(blob_store) == []


@pytest.mark.parametrize("before_break", [10, 20 * MIB], ids=["small", "several-parts"])
async def test_a_broken_stream_leaves_nothing(blob_store: BlobStore, before_break: int) -> None:
    async def broken() -> AsyncIterator[bytes]:
        async for chunk in generated(before_break):
            yield chunk
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        await blob_store.put(broken())
    assert leftovers(blob_store) == []


async def test_a_large_blob_streams_in_bounded_chunks_both_ways(blob_store: BlobStore) -> None:
    total = 17 * MIB  # more than two of S3's multipart parts
    digest = hashlib.sha256()
    async for chunk in generated(total):
        digest.update(chunk)
    info = await blob_store.put(generated(total))
    assert (info.size, info.sha256) == (total, digest.hexdigest())

    read = hashlib.sha256()
    largest = size = 0
    tracemalloc.start()
    try:
        async for chunk in blob_store.open(info.key):
            read.update(chunk)
            size += len(chunk)
            largest = max(largest, len(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (size, read.hexdigest()) == (total, info.sha256)
    assert largest <= CHUNK_SIZE
    assert peak < 4 * MIB  # never the whole blob in memory


async def test_a_reader_may_stop_early(blob_store: BlobStore) -> None:
    info = await blob_store.put(generated(2 * MIB))
    reader = blob_store.open(info.key)
    first = await anext(reader)
    await reader.aclose()  # type: ignore[attr-defined]
    assert 0 < len(first) <= CHUNK_SIZE
    await blob_store.delete(info.key)
    assert leftovers(blob_store) == []


async def test_a_cancelled_put_leaves_nothing(blob_store: BlobStore) -> None:
    sent_a_part = asyncio.Event()

    async def stalls_after_a_part() -> AsyncIterator[bytes]:
        async for chunk in generated(9 * MIB):  # more than one S3 part: one is sent
            yield chunk
        sent_a_part.set()
        await asyncio.Event().wait()  # the client stops sending, and is given up on
        yield b"never"

    putting = asyncio.create_task(blob_store.put(stalls_after_a_part()))
    await sent_a_part.wait()
    putting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await putting
    assert leftovers(blob_store) == []
