"""Errors raised by the sandbox layer. Errors in *user code* are not exceptions: they come back
as `Execution.error`. These are failures of the engine or misuse of its API."""

from __future__ import annotations


class SandboxError(Exception):
    """Base class for every sandbox-layer failure. `code` and `http_status`: what a front end
    answers it with (the engine failed: 503 unless a subclass knows better)."""

    code = "sandbox_error"
    http_status = 503


class SandboxClosedError(SandboxError):
    """The sandbox was closed; acquire a new one."""

    code = "sandbox_unavailable"


class SandboxBusyError(SandboxError):
    """Another execution is running in this sandbox; wait for it or interrupt it."""

    code = "sandbox_busy"
    http_status = 409


class SandboxNotFoundError(SandboxError):
    """No live session has this id (it ended, or never belonged to this backend)."""

    code = "sandbox_not_found"
    http_status = 404


class SandboxStartError(SandboxError):
    """A worker or the zygote could not be started."""

    code = "sandbox_unavailable"


class TooManySessionsError(SandboxError):
    """The session manager already holds its maximum number of live sessions."""

    code = "too_many_sessions"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"too many live sandbox sessions (limit {limit}); close one or raise "
            "ANALYST_SANDBOX__MAX_SESSIONS"
        )
        self.limit = limit


class FileAccessError(SandboxError):
    """A file operation was refused: the path escapes the workdir, or does not exist."""

    code = "file_access_refused"
    http_status = 400


class PathEscapeError(FileAccessError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"refused path {path!r}: {reason}; paths must stay inside the workdir")
        self.path = path


class IsolationError(SandboxError):
    """The isolation level in force is below the configured minimum."""

    code = "isolation_insufficient"
