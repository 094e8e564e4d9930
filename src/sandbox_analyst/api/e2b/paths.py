"""Paths as E2B clients name them. A sandbox's files live in its workdir, which E2B clients
know as `/home/user` (the default user's home, where relative paths start); nothing outside
it exists for them."""

from __future__ import annotations

import posixpath

from sandbox_analyst.service import ValidationError

HOME = "/home/user"


class PathOutsideHome(ValidationError):
    code = "path_outside_home"
    http_status = 400

    def __init__(self, path: str) -> None:
        super().__init__(
            f"path {path!r} is outside the sandbox's files; paths live under {HOME}",
            field="path",
        )


def to_workdir(path: str | None) -> str:
    """The workdir-relative form of an E2B path (`""`: the workdir itself)."""
    if path is None or path in ("", ".", "~"):
        return ""
    if "\x00" in path:
        raise PathOutsideHome(path)
    if path.startswith("~/"):
        path = HOME + path[1:]
    absolute = posixpath.normpath(path if path.startswith("/") else f"{HOME}/{path}")
    if absolute == HOME:
        return ""
    if not absolute.startswith(HOME + "/"):
        raise PathOutsideHome(path)
    return absolute[len(HOME) + 1 :]


def to_e2b(relative: str) -> str:
    return f"{HOME}/{relative}" if relative else HOME
