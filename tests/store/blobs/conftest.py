"""Every blob store, for the contract tests: the local directory and an S3 bucket on the
S3-compatible server on 127.0.0.1 (a fresh bucket per test)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox_analyst.config import S3Settings
from sandbox_analyst.store import BlobStore, LocalBlobStore
from sandbox_analyst.testing.s3_server import LocalS3Server


@pytest.fixture
def bucket(s3_server: LocalS3Server) -> str:
    return s3_server.create_bucket()


@pytest.fixture(params=["local", "s3"])
async def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "local":
        store: BlobStore = LocalBlobStore(tmp_path / "blobs")
    else:
        from sandbox_analyst.store.blobs.s3 import S3BlobStore

        s3_server: LocalS3Server = request.getfixturevalue("s3_server")
        settings = s3_server.s3_settings(s3_server.create_bucket(), prefix="analyst")
        store = S3BlobStore(S3Settings(**settings))
    await store.check()
    yield store
    await store.close()


async def read_all(store: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.open(key)])


def leftovers(store: BlobStore) -> list[str]:
    """Everything a store holds, blobs and pieces of blobs: files under a local store's root,
    objects and unfinished multipart uploads in an S3 store's bucket."""
    if isinstance(store, LocalBlobStore):
        return [str(p) for p in store.root.rglob("*") if p.is_file()]
    client = store._client  # type: ignore[attr-defined]
    bucket = store.bucket  # type: ignore[attr-defined]
    objects = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return [o["Key"] for o in objects] + [f"unfinished upload of {u['Key']}" for u in uploads]
