"""Errors of the SDK itself. Errors in the *code* a sandbox runs are not exceptions: they come
back in `ExecutionResult.error`. Everything here is a `SandboxError`, so one `except` catches
the SDK's and the sandbox layer's failures alike."""

from __future__ import annotations

from sandbox_analyst.sandbox.errors import SandboxError, SandboxUsageError


class SandboxNotStartedError(SandboxUsageError):
    """The manager has no sandbox: use `async with SandboxManager(...)` or `await start()`
    first, or it was closed."""

    code = "sandbox_not_started"
    http_status = 409


class SandboxStartFailedError(SandboxError):
    """No sandbox could be started. `attempts` says how many starts were tried; the last
    failure is the `__cause__`."""

    code = "sandbox_start_failed"
    http_status = 503

    def __init__(self, message: str, *, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class SandboxStartRefusedError(SandboxStartFailedError):
    """Starting failed for a reason that trying again cannot change (a wrong API key, an
    unknown template, a backend that is not installed): raised at the first attempt."""

    code = "sandbox_start_refused"
    http_status = 400


class SandboxStartRetriesExhaustedError(SandboxStartFailedError):
    """Starting kept failing for a reason that is usually temporary (a server that is not up
    yet, every session in use, a 5xx), for as many attempts as the retry policy allows."""

    code = "sandbox_start_retries_exhausted"
