"""Service-level errors. Each carries a stable machine-readable `code`; the API maps them to
HTTP statuses in one place (`api/errors.py`)."""

from __future__ import annotations


class ServiceError(Exception):
    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    """The object does not exist, or the caller may not know that it does."""

    code = "not_found"


class Forbidden(ServiceError):
    """The caller can see the object but may not do this to it."""

    code = "forbidden"


class Unauthorized(ServiceError):
    """No valid credentials."""

    code = "unauthorized"


class Conflict(ServiceError):
    code = "conflict"


class PayloadTooLarge(ServiceError):
    code = "payload_too_large"


class UnsupportedMediaType(ServiceError):
    code = "unsupported_media_type"


class ValidationError(ServiceError):
    code = "validation_error"


class StorageFull(ServiceError):
    """The server has no space left to store this (its files or its database); nothing
    half-written was kept. An operator's problem, not the caller's: 507."""

    code = "storage_full"
    http_status = 507
