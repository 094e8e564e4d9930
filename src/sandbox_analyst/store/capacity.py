"""Running out of space: one error, whichever store ran out (the blob files' file system, or
the database), so callers answer "storage full" rather than an internal error."""

from __future__ import annotations

import errno
import sqlite3

# ENOSPC: the file system is full; EDQUOT: the user's quota on it is.
_NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_POSTGRES_DISK_FULL = "53100"  # SQLSTATE disk_full


class StorageFullError(Exception):
    """There is no space left to store this; nothing half-written was kept."""

    code = "storage_full"
    http_status = 507


def is_out_of_space(exc: BaseException | None) -> bool:
    """Whether `exc` (an OS error, or a database driver's error, possibly wrapped by an
    adapter: its causes are looked at too) means "no space left"."""
    for _depth in range(4):
        if exc is None:
            return False
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE_ERRNOS:
            return True
        if isinstance(exc, sqlite3.Error):
            return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        if getattr(exc, "sqlstate", None) == _POSTGRES_DISK_FULL:
            return True
        exc = exc.__cause__ or exc.__context__
    return False
