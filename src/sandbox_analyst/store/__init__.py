"""Storage: the relational model and its migrations, the database engine, blob storage."""

from sandbox_analyst.store.blobs import (
    BlobError,
    BlobInfo,
    BlobNotFound,
    BlobStore,
    BlobStoreUnavailable,
    BlobTooLarge,
    LocalBlobStore,
    as_stream,
    create_blob_store,
)
from sandbox_analyst.store.capacity import StorageFullError, is_out_of_space
from sandbox_analyst.store.database import Database
from sandbox_analyst.store.ids import looks_like_id, new_id
from sandbox_analyst.store.migrate import upgrade_to_head
from sandbox_analyst.store.models import (
    ApiKey,
    Assistant,
    Base,
    Conversation,
    DatabaseConnection,
    DatabaseQuery,
    E2BSandbox,
    Execution,
    FileRecord,
    Message,
    PackageInstall,
    PackageRequest,
    ServerProcess,
    User,
    utcnow,
)
from sandbox_analyst.store.urls import UnsupportedDatabase, async_url, sync_url

__all__ = [
    "ApiKey",
    "Assistant",
    "Base",
    "BlobError",
    "BlobInfo",
    "BlobNotFound",
    "BlobStore",
    "BlobStoreUnavailable",
    "BlobTooLarge",
    "Conversation",
    "Database",
    "DatabaseConnection",
    "DatabaseQuery",
    "E2BSandbox",
    "Execution",
    "FileRecord",
    "LocalBlobStore",
    "Message",
    "PackageInstall",
    "PackageRequest",
    "ServerProcess",
    "StorageFullError",
    "UnsupportedDatabase",
    "User",
    "as_stream",
    "async_url",
    "create_blob_store",
    "is_out_of_space",
    "looks_like_id",
    "new_id",
    "sync_url",
    "upgrade_to_head",
    "utcnow",
]
