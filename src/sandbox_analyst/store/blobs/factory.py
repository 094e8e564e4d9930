"""The blob store the settings ask for (`storage.blobs`)."""

from __future__ import annotations

from pathlib import Path

from sandbox_analyst.config import StorageSettings
from sandbox_analyst.store.blobs.errors import BlobStoreUnavailable
from sandbox_analyst.store.blobs.interface import BlobStore
from sandbox_analyst.store.blobs.local import LocalBlobStore


def create_blob_store(settings: StorageSettings, data_dir: Path) -> BlobStore:
    """`local`: files under `<data_dir>/blobs`; `s3`: the configured bucket (the AWS client is
    imported only then: it is an optional extra, and slow to import)."""
    if settings.blobs == "local":
        return LocalBlobStore(data_dir / "blobs")
    try:
        from sandbox_analyst.store.blobs.s3 import S3BlobStore
    except ImportError as exc:
        raise BlobStoreUnavailable(
            "blob storage: storage.blobs is s3 but the S3 client is not installed: install "
            f"the extra, e.g. pip install 'sandbox-analyst[s3]' ({exc})"
        ) from exc
    return S3BlobStore(settings.s3)
