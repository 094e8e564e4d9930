"""Local blob storage: all or nothing, keys chosen by the store, never by a user."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox_analyst.store import BlobNotFound, BlobTooLarge, LocalBlobStore, as_stream


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


async def read_all(store: LocalBlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.open(key)])


async def test_put_open_delete_round_trip(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    info = await store.put(chunks(b"hello ", b"world"))
    assert info.size == 11
    assert info.sha256 == hashlib.sha256(b"hello world").hexdigest()
    assert await read_all(store, info.key) == b"hello world"
    path = store.path_for(info.key)
    assert path is not None
    assert path.read_bytes() == b"hello world"
    await store.delete(info.key)
    assert store.path_for(info.key) is None
    with pytest.raises(BlobNotFound):
        await read_all(store, info.key)
    await store.delete(info.key)  # deleting twice is fine


async def test_bytes_are_accepted_as_a_stream(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    data = bytes(range(256)) * 5000
    info = await store.put(as_stream(data))
    assert await read_all(store, info.key) == data


async def test_too_large_leaves_nothing(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(BlobTooLarge):
        await store.put(chunks(b"x" * 600, b"x" * 600), max_bytes=1000)
    assert files_under(tmp_path) == []


async def test_a_broken_stream_leaves_nothing(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"half of it"
        raise ConnectionError("client went away")

    store = LocalBlobStore(tmp_path)
    with pytest.raises(ConnectionError):
        await store.put(broken())
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("key", ["../../etc/passwd", "/etc/passwd", "a" * 32 + "/..", ""])
async def test_keys_that_we_did_not_make_do_not_exist(tmp_path: Path, key: str) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(BlobNotFound):
        await read_all(store, key)
    with pytest.raises(BlobNotFound):
        store.path_for(key)
    await store.delete(key)
