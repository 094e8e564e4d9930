"""Blob storage: the bytes of uploads and artifacts, in a local directory (the default) or an
S3-compatible bucket (`storage.blobs: s3`), behind one `BlobStore` interface."""

from sandbox_analyst.store.blobs.errors import (
    BlobError,
    BlobNotFound,
    BlobStoreUnavailable,
    BlobTooLarge,
)
from sandbox_analyst.store.blobs.factory import create_blob_store
from sandbox_analyst.store.blobs.interface import CHUNK_SIZE, BlobInfo, BlobStore, as_stream
from sandbox_analyst.store.blobs.local import LocalBlobStore

__all__ = [
    "CHUNK_SIZE",
    "BlobError",
    "BlobInfo",
    "BlobNotFound",
    "BlobStore",
    "BlobStoreUnavailable",
    "BlobTooLarge",
    "LocalBlobStore",
    "as_stream",
    "create_blob_store",
]
