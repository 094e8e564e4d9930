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


class SandboxUsageError(SandboxError, ValueError):
    """A call with arguments no backend can accept (an unknown language, an environment
    variable name with `=`...)."""

    code = "invalid_sandbox_request"
    http_status = 422


class LanguageUnavailableError(SandboxUsageError):
    """A known language this session cannot run (R where the template or backend has none)."""

    code = "unsupported_language"

    def __init__(self, language: str, available: tuple[str, ...], backend: str = "local") -> None:
        self.language = language
        self.available = available
        if language == "r" and backend != "local":
            why = (
                f"the {backend} backend does not run R cells (the local backend does, where R "
                "is installed, and the E2B backend)"
            )
        else:
            why = _UNAVAILABLE.get(language, f"{language} is not available in this sandbox")
        super().__init__(f"{why}; this session runs: {', '.join(available)}")


_UNAVAILABLE = {
    "r": "R is not available in this sandbox: R cells need the R interpreter (Debian's "
    "r-base-core) on the machine that runs the local backend's sessions; an admin adds it "
    "with `apt-get install --no-install-recommends r-base-core`",
    "sql": "SQL cells need Python with the duckdb package in the sandbox's template",
    "bash": "bash is not installed in this sandbox",
}


class SandboxNotFoundError(SandboxError):
    """No live session has this id (it ended, or never belonged to this backend)."""

    code = "sandbox_not_found"
    http_status = 404


class SandboxStartError(SandboxError):
    """A worker or the zygote could not be started."""

    code = "sandbox_unavailable"


class TooManySessionsError(SandboxError):
    """No session can be had now: the server holds as many live sessions as it may, all in
    use. The session manager ends idle ones before it gives up, so trying again later can
    succeed."""

    code = "too_many_sessions"
    http_status = 429
    _message = (
        "all of the server's live sandbox sessions are in use (limit {limit}); try again when "
        "one is done (the limit is ANALYST_SANDBOX__MAX_SESSIONS)"
    )

    def __init__(self, limit: int) -> None:
        super().__init__(self._message.format(limit=limit))
        self.limit = limit


class TooManyUserSessionsError(TooManySessionsError):
    """This user already holds as many live sessions as one user may, all in use: the
    server's limit per user, or their own (`own`: the `sessions` quota an admin gave them)."""

    code = "too_many_sessions_per_user"
    _message = (
        "you already have as many live sandbox sessions as one user may (limit {limit}), all "
        "in use; wait for one of your conversations to finish its turn (the limit is "
        "ANALYST_SANDBOX__MAX_SESSIONS_PER_USER)"
    )
    _own_message = (
        "quota exceeded: sessions (limit {limit}), all in use; it frees up when one of your "
        "sessions ends or one of your conversations finishes its turn (an admin sets your "
        "limit with `analyst users quota`)"
    )

    def __init__(self, limit: int, *, own: bool = False) -> None:
        SandboxError.__init__(
            self, (self._own_message if own else self._message).format(limit=limit)
        )
        self.limit = limit
        self.own = own


class BackendUnavailableError(SandboxError):
    """The configured sandbox backend is unknown or not installed here."""

    code = "sandbox_backend_unavailable"
    http_status = 503


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
