"""The local blob store's own ways: blobs are plain files the web server can send directly,
and a directory it cannot use is said so at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox_analyst.store import BlobNotFound, BlobStoreUnavailable, LocalBlobStore, as_stream


async def test_a_blob_is_a_file_under_the_root_until_deleted(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    info = await store.put(as_stream(b"hello world"))
    path = store.path_for(info.key)
    assert path is not None
    assert tmp_path in path.parents
    assert path.read_bytes() == b"hello world"
    await store.delete(info.key)
    assert store.path_for(info.key) is None


@pytest.mark.parametrize("key", ["../../etc/passwd", "/etc/passwd", "a" * 32 + "/..", ""])
def test_keys_that_we_did_not_make_have_no_path(tmp_path: Path, key: str) -> None:
    with pytest.raises(BlobNotFound):
        LocalBlobStore(tmp_path).path_for(key)


async def test_a_root_that_cannot_be_a_directory_is_reported(tmp_path: Path) -> None:
    (tmp_path / "blobs").write_text("a file where the directory should be")
    store = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(BlobStoreUnavailable, match="cannot create the blob directory"):
        await store.check()
    assert store.describe() == f"local directory {tmp_path / 'blobs'}"
