"""Blob storage errors. The store's own problems (unreachable, refused, misconfigured) carry
`code` and `http_status`, like every error the front ends map."""

from __future__ import annotations


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


class BlobStoreUnavailable(BlobError):
    """The blob store cannot be used: not reachable, credentials refused, bucket missing, not
    installed. The message says which, and what to change; nothing half-written was kept."""

    code = "storage_unavailable"
    http_status = 503
