"""Workdir-relative paths as every backend accepts them: the same rules and the same errors
whether the files live on this machine or in a remote kernel."""

from __future__ import annotations

from pathlib import PurePosixPath

from sandbox_analyst.sandbox.errors import PathEscapeError


def split_path(path: str) -> list[str]:
    """The components of a workdir-relative path; refuses anything that could escape."""
    if not isinstance(path, str) or "\x00" in path:
        raise PathEscapeError(str(path), "not a valid path")
    if path.startswith("/"):
        raise PathEscapeError(path, "absolute paths are not allowed")
    parts = [part for part in PurePosixPath(path).parts if part not in ("", ".")]
    if ".." in parts:
        raise PathEscapeError(path, "'..' is not allowed")
    return parts
