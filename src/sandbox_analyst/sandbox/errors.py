"""Errors raised by the sandbox layer. Errors in *user code* are not exceptions: they come back
as `Execution.error`. These are failures of the engine or misuse of its API."""

from __future__ import annotations


class SandboxError(Exception):
    """Base class for every sandbox-layer failure."""


class SandboxClosedError(SandboxError):
    """The sandbox was closed; acquire a new one."""


class SandboxBusyError(SandboxError):
    """Another execution is running in this sandbox; wait for it or interrupt it."""


class SandboxNotFoundError(SandboxError):
    """No live session has this id (it ended, or never belonged to this backend)."""


class SandboxStartError(SandboxError):
    """A worker or the zygote could not be started."""


class TooManySessionsError(SandboxError):
    """The session manager already holds its maximum number of live sessions."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"too many live sandbox sessions (limit {limit}); close one or raise "
            "ANALYST_SANDBOX__MAX_SESSIONS"
        )
        self.limit = limit


class FileAccessError(SandboxError):
    """A file operation was refused: the path escapes the workdir, or does not exist."""


class PathEscapeError(FileAccessError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"refused path {path!r}: {reason}; paths must stay inside the workdir")
        self.path = path


class IsolationError(SandboxError):
    """The isolation level in force is below the configured minimum."""
