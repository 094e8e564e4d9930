"""What `analyst` exits with, for every command, and how an error picks its code (from the
HTTP status its class declares, as the HTTP front ends answer it)."""

from __future__ import annotations

from enum import IntEnum

from sandbox_analyst.service import public_error


class ExitCode(IntEnum):
    OK = 0  # done: the question was answered, the command did its work
    FAILED = 1  # the turn did not complete (failed, cancelled), or the command's work failed
    USAGE = 2  # bad arguments or settings
    UNAVAILABLE = 3  # the server could not be reached, refused the key, or cannot take the work
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


def exit_code_for(exc: BaseException) -> ExitCode:
    """A refused key or a service that cannot take the work now (401, 403, 429, 5xx) is
    UNAVAILABLE; any other error people may see (a name taken, an id not found) is FAILED."""
    error = public_error(exc)
    if error is None:
        return ExitCode.FAILED
    if error.http_status in (401, 403, 429) or error.http_status >= 500:
        return ExitCode.UNAVAILABLE
    return ExitCode.FAILED
