"""Service-level errors, and the one table every front end answers errors from.

Each error class a person may see declares, as class attributes, a stable machine-readable
`code` and the `http_status` it is answered with: the service's errors here, the sandbox's
(`sandbox.errors`), the model's (`llm.errors`), the storage's (`StorageFullError`) and the
configuration's (`ConfigError`). The
REST API (`api/errors.py`), the OpenAI-compatible API (`api/openai_compat/errors.py`) and the
CLI (`cli/exit_codes.py`) all read them through `public_error`, so a new error class only has
to declare both.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox_analyst.config import ConfigError
from sandbox_analyst.llm import LLMError
from sandbox_analyst.sandbox import SandboxError
from sandbox_analyst.store import BlobStoreUnavailable, StorageFullError


class ServiceError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    """The object does not exist, or the caller may not know that it does."""

    code = "not_found"
    http_status = 404


class OnAnotherReplica(ServiceError):
    """The conversation's sandbox lives in another live server process, out of reach of this
    one (the local backend): its requests must go to that replica (docs/deploy.md)."""

    code = "conversation_on_another_replica"
    http_status = 421  # Misdirected Request: this server cannot answer for it

    def __init__(self, where: str) -> None:
        super().__init__(
            f"this conversation's sandbox is held by another server replica ({where}), and "
            "with the local sandbox backend only that replica can run its turns: send this "
            "conversation's requests there (sticky routing by conversation), or use a remote "
            "sandbox backend (gateway, e2b) so that any replica can serve it"
        )


class Forbidden(ServiceError):
    """The caller can see the object but may not do this to it."""

    code = "forbidden"
    http_status = 403


class Unauthorized(ServiceError):
    """No valid credentials."""

    code = "unauthorized"
    http_status = 401


class Conflict(ServiceError):
    code = "conflict"
    http_status = 409


class PayloadTooLarge(ServiceError):
    code = "payload_too_large"
    http_status = 413


class UnsupportedMediaType(ServiceError):
    code = "unsupported_media_type"
    http_status = 415


class ValidationError(ServiceError):
    code = "validation_error"
    http_status = 422


class StorageFull(ServiceError):
    """The server has no space left to store this (its files or its database); nothing
    half-written was kept. An operator's problem, not the caller's: 507."""

    code = "storage_full"
    http_status = 507


# The families of errors whose classes declare `code` and `http_status`; a front end catches
# these (and so every subclass, with no change here).
PUBLIC_ERROR_TYPES: tuple[type[Exception], ...] = (
    ServiceError,
    SandboxError,
    LLMError,
    ConfigError,
    StorageFullError,
    BlobStoreUnavailable,
)


@dataclass(frozen=True)
class PublicError:
    """What a caller is told about an error."""

    code: str
    http_status: int
    message: str
    field: str | None = None


def public_error(exc: BaseException) -> PublicError | None:
    """The code, status and message `exc`'s class declares; None for an error that declares
    none (a bug, answered as an internal error without its details)."""
    code = getattr(type(exc), "code", None)
    status = getattr(type(exc), "http_status", None)
    if not isinstance(code, str) or not isinstance(status, int):
        return None
    if isinstance(exc, ServiceError):
        return PublicError(code, status, exc.message, exc.field)
    return PublicError(code, status, str(exc))
