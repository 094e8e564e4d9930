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

import math
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime

from sandbox_analyst.config import ConfigError
from sandbox_analyst.llm import LLMError
from sandbox_analyst.sandbox import SandboxError
from sandbox_analyst.store import BlobStoreUnavailable, StorageFullError


class ServiceError(Exception):
    code = "error"
    http_status = 400

    # Facts beyond the message a client may act on (added to the error's JSON body), and
    # when trying again can succeed (a `Retry-After` header); none by default.
    details: dict[str, object] = {}  # noqa: RUF012 - replaced per instance, never changed
    retry_at: datetime | None = None

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


class QuotaExceeded(ServiceError):
    """The user used up one of their quotas (`service/quotas.py`): which one, its limit, what
    is used, and when it resets (daily quotas: the next 00:00 UTC; stored bytes and live
    sessions free up as files are deleted and sessions end). Nothing stored was lost."""

    code = "quota_exceeded"
    http_status = 429

    def __init__(
        self,
        quota: str,
        *,
        limit: float,
        used: float,
        resets_at: datetime | None,
        frees_when: str | None = None,
        asked: float | None = None,
    ) -> None:
        """`asked`: what the refused request would have added (an upload's bytes)."""
        if resets_at is not None:
            when = f"it resets at {_iso(resets_at)}"
        else:
            when = f"it frees up when you {frees_when or 'use less'}"
        wanted = f", this request needs {_amount(asked)} more" if asked is not None else ""
        super().__init__(
            f"quota exceeded: {quota} (limit {_amount(limit)}, used {_amount(used)}{wanted}); "
            f"{when}"
        )
        self.quota = quota
        self.limit = limit
        self.used = used
        self.resets_at = resets_at
        self.retry_at = resets_at
        self.details = {
            "quota": quota,
            "limit": limit,
            "used": used,
            "resets_at": _iso(resets_at) if resets_at is not None else None,
        }
        if resets_at is None:
            self.details["frees_when"] = frees_when
        if asked is not None:
            self.details["asked"] = asked


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _amount(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


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
    details: dict[str, object] = dataclass_field(default_factory=dict)  # more of the body's fields
    retry_at: datetime | None = None  # when trying again can succeed

    def retry_after(self, now: datetime | None = None) -> dict[str, str]:
        """The `Retry-After` header (whole seconds until `retry_at`), if it has one."""
        if self.retry_at is None:
            return {}
        seconds = (self.retry_at - (now or datetime.now(UTC))).total_seconds()
        return {"Retry-After": str(max(1, math.ceil(seconds)))}


def public_error(exc: BaseException) -> PublicError | None:
    """The code, status and message `exc`'s class declares; None for an error that declares
    none (a bug, answered as an internal error without its details)."""
    code = getattr(type(exc), "code", None)
    status = getattr(type(exc), "http_status", None)
    if not isinstance(code, str) or not isinstance(status, int):
        return None
    if isinstance(exc, ServiceError):
        return PublicError(code, status, exc.message, exc.field, dict(exc.details), exc.retry_at)
    return PublicError(code, status, str(exc))
