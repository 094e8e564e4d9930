"""Deleting a directory tree that hostile code made: any depth, any permissions, no link ever
followed. Deleting a session's workdir must always succeed.

`shutil.rmtree` recurses (a 1100-level tree raises `RecursionError`) and, with
`ignore_errors`, leaves whatever it could not delete silently behind. Here the tree is
flattened instead: every subdirectory met is first renamed into the top of the tree, so no
directory is ever more than one level below the top, whatever the depth was. That needs two
descriptors and no recursion, and costs one rename per directory.

A directory the sandbox made unreadable or unwritable (mode 000, 0500...) is given back its
owner's rights first: through an `O_PATH` descriptor, so what is changed is the directory that
was opened, never what a link might point to. Files need no rights of their own to be unlinked.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import uuid
from collections.abc import Callable
from pathlib import Path

from sandbox_analyst.sandbox.local.workdir_walk import DIRECTORY_FLAGS

_ATTEMPTS = 5  # a straggler may still be writing: rescan a directory that refuses to go


class TreeRemovalError(OSError):
    """The tree could not be removed (it is left as it was found, minus what was deleted)."""


def remove_tree(path: Path | str) -> None:
    """Remove `path` (a directory, a file or a link) and everything below it; no error if it
    does not exist."""
    path = Path(path)
    parent = os.open(path.parent, DIRECTORY_FLAGS)
    try:
        remove_entry(parent, path.name)
    finally:
        os.close(parent)


def remove_entry(parent_fd: int, name: str) -> None:
    """Remove the entry `name` of the directory `parent_fd`, whatever it is."""
    try:
        info = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(name, dir_fd=parent_fd)
        return
    top = _open_directory(parent_fd, name)
    try:
        _empty(top)
    finally:
        os.close(top)
    _retrying(lambda: os.rmdir(name, dir_fd=parent_fd), lambda: _empty_named(parent_fd, name))


def _empty(top: int) -> None:
    """Delete everything inside the directory `top`, flattening as it goes."""
    pending: list[str | None] = [None]  # None: `top` itself; else a directory inside `top`
    while pending:
        name = pending.pop()
        if name is None:
            _clear(top, top, pending)
            continue
        directory = _open_directory(top, name)
        try:
            _clear(directory, top, pending)
        finally:
            os.close(directory)
        _retrying(lambda n=name: os.rmdir(n, dir_fd=top), lambda n=name: _empty_named(top, n))


def _clear(directory: int, top: int, pending: list[str | None]) -> None:
    """Unlink the non-directories of `directory`; queue its subdirectories, moved up into
    `top` unless they are there already."""
    with os.scandir(directory) as entries:
        names = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    for name, is_dir in names:
        try:
            if not is_dir:
                try:
                    os.unlink(name, dir_fd=directory)
                    continue
                except IsADirectoryError:  # a file became a directory meanwhile
                    pass
            if directory == top:
                pending.append(name)
                continue
            flat = f".removing-{uuid.uuid4().hex}"
            try:
                os.rename(name, flat, src_dir_fd=directory, dst_dir_fd=top)
            except PermissionError:
                _grant_owner(directory, name)  # moving a directory rewrites its ".." entry
                os.rename(name, flat, src_dir_fd=directory, dst_dir_fd=top)
            pending.append(flat)
        except FileNotFoundError:
            continue  # gone meanwhile


def _empty_named(parent_fd: int, name: str) -> None:
    directory = _open_directory(parent_fd, name)
    try:
        _empty(directory)
    finally:
        os.close(directory)


def _open_directory(parent_fd: int, name: str) -> int:
    """The directory `name`, opened without following a link, and writable by its owner (so
    that its entries can be unlinked)."""
    try:
        fd = os.open(name, DIRECTORY_FLAGS, dir_fd=parent_fd)
    except PermissionError:
        _grant_owner(parent_fd, name)
        fd = os.open(name, DIRECTORY_FLAGS, dir_fd=parent_fd)
    mode = os.fstat(fd).st_mode
    if mode & 0o700 != 0o700:
        with contextlib.suppress(PermissionError):  # not ours: then our rights suffice
            os.fchmod(fd, stat.S_IMODE(mode) | 0o700)
    return fd


def _grant_owner(parent_fd: int, name: str) -> None:
    """Give the directory `name` rwx for its owner (never through a link)."""
    handle = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    try:
        info = os.fstat(handle)
        if stat.S_ISDIR(info.st_mode):
            # chmod through /proc/self/fd acts on the opened inode itself (a directory, checked
            # just above); fchmod does not take O_PATH descriptors.
            os.chmod(f"/proc/self/fd/{handle}", stat.S_IMODE(info.st_mode) | 0o700)
    finally:
        os.close(handle)


def _retrying(remove: Callable[[], None], empty: Callable[[], None]) -> None:
    for attempt in range(_ATTEMPTS):
        try:
            remove()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.ENOTEMPTY or attempt == _ATTEMPTS - 1:
                raise TreeRemovalError(exc.errno, f"could not remove a directory: {exc}") from exc
            with contextlib.suppress(FileNotFoundError):
                empty()  # something was created meanwhile
