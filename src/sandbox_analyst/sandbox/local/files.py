"""Files in a session's workdir, accessed from the server side.

The workdir is shared with hostile code, which can plant symlinks or swap a directory for a
link at any moment. So paths are never resolved as strings: every component is opened with
O_NOFOLLOW relative to the directory before it (openat), starting at a descriptor of the
workdir itself. A path with `..`, an absolute path or a symlink anywhere is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import shutil
import stat
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

from sandbox_analyst.sandbox.base import FileData, SandboxFiles
from sandbox_analyst.sandbox.errors import FileAccessError, PathEscapeError
from sandbox_analyst.sandbox.models import EntryInfo
from sandbox_analyst.sandbox.paths import split_path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20


class LocalFiles(SandboxFiles):
    def __init__(
        self, root: Path, *, owner: tuple[int, int] | None = None, quota_bytes: int | None = None
    ) -> None:
        self.root = root
        self.owner = owner
        self.quota_bytes = quota_bytes

    @contextlib.contextmanager
    def _directory(self, parts: list[str], *, create: bool = False) -> Iterator[int]:
        """A descriptor of the directory `parts`, walked without following any link."""
        fd = os.open(self.root, _DIR_FLAGS)
        try:
            for index, part in enumerate(parts):
                try:
                    next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    os.mkdir(part, 0o755, dir_fd=fd)
                    self._chown(part, fd)
                    next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except (NotADirectoryError, OSError) as exc:
                    if _is_link(part, fd):
                        raise PathEscapeError(
                            "/".join(parts[: index + 1]), "symbolic links are not followed"
                        ) from exc
                    raise
                os.close(fd)
                fd = next_fd
            yield fd
        finally:
            os.close(fd)

    def _chown(self, name: str, dir_fd: int) -> None:
        if self.owner is not None:
            os.chown(name, *self.owner, dir_fd=dir_fd, follow_symlinks=False)

    def _target(self, path: str) -> tuple[list[str], str]:
        parts = split_path(path)
        if not parts:
            raise PathEscapeError(path, "a file name is required")
        return parts[:-1], parts[-1]

    async def write(self, path: str, data: FileData) -> EntryInfo:
        """Write a file from bytes, a binary file object or an async byte stream. The file
        appears whole or not at all (written under a temporary name, then renamed)."""
        parents, name = self._target(path)
        temporary = f".{name}.{uuid.uuid4().hex}.part"
        with self._directory(parents, create=True) as dir_fd:
            if _is_link(name, dir_fd):
                raise PathEscapeError(path, "symbolic links are not followed")
            fd = os.open(
                temporary,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o644,
                dir_fd=dir_fd,
            )
            try:
                with os.fdopen(fd, "wb", closefd=True) as out:
                    budget = self._remaining_quota()
                    async for chunk in _chunks(data):
                        budget -= len(chunk)
                        if budget < 0:
                            raise FileAccessError(
                                f"writing {path!r} would exceed the workdir quota of "
                                f"{self.quota_bytes} bytes"
                            )
                        out.write(chunk)
                self._chown(temporary, dir_fd)
                os.rename(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary, dir_fd=dir_fd)
                raise
            return _entry(path, name, os.stat(name, dir_fd=dir_fd, follow_symlinks=False))

    async def read(self, path: str, *, chunk_size: int = _CHUNK) -> AsyncIterator[bytes]:
        parents, name = self._target(path)
        try:
            with self._directory(parents) as dir_fd:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        except FileNotFoundError as exc:
            raise FileAccessError(f"no such file in the workdir: {path!r}") from exc
        except OSError as exc:
            if exc.errno == 40:  # ELOOP: the last component is a link
                raise PathEscapeError(path, "symbolic links are not followed") from exc
            raise FileAccessError(f"cannot read {path!r}: {exc.strerror}") from exc
        with os.fdopen(fd, "rb") as source:
            if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
                raise FileAccessError(f"not a regular file: {path!r}")
            while chunk := await asyncio.to_thread(source.read, chunk_size):
                yield chunk

    async def list(self, path: str = ".", *, recursive: bool = False) -> list[EntryInfo]:
        parts = split_path(path)
        try:
            with self._directory(parts) as dir_fd:
                return sorted(self._scan(dir_fd, "/".join(parts), recursive), key=_by_path)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise FileAccessError(f"no such directory in the workdir: {path!r}") from exc

    def _scan(self, dir_fd: int, prefix: str, recursive: bool) -> Iterator[EntryInfo]:
        for name in os.listdir(dir_fd):
            relative = f"{prefix}/{name}" if prefix else name
            try:
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed by the running code meanwhile
            entry = _entry(relative, name, info)
            yield entry
            if recursive and entry.is_dir:
                with contextlib.suppress(OSError):
                    child = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
                    try:
                        yield from self._scan(child, relative, recursive)
                    finally:
                        os.close(child)

    async def remove(self, path: str) -> None:
        parents, name = self._target(path)
        try:
            with self._directory(parents) as dir_fd:
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(name, dir_fd=dir_fd)
                else:
                    os.unlink(name, dir_fd=dir_fd)
        except FileNotFoundError as exc:
            raise FileAccessError(f"no such file in the workdir: {path!r}") from exc

    async def exists(self, path: str) -> bool:
        parts = split_path(path)
        if not parts:
            return True
        try:
            with self._directory(parts[:-1]) as dir_fd:
                os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return False
        return True

    async def make_dir(self, path: str) -> bool:
        parts = split_path(path)
        if await self.exists(path):
            if not (await self._entry(parts)).is_dir:
                raise FileAccessError(f"{path!r} exists and is not a directory")
            return False
        try:
            with self._directory(parts, create=True):
                return True
        except NotADirectoryError as exc:
            raise FileAccessError(f"a parent of {path!r} is not a directory") from exc

    async def move(self, source: str, destination: str) -> EntryInfo:
        old_parents, old_name = self._target(source)
        new_parents, new_name = self._target(destination)
        try:
            with (
                self._directory(old_parents) as old_fd,
                self._directory(new_parents) as new_fd,
            ):
                # rename() acts on a link itself, never on what it points to.
                os.rename(old_name, new_name, src_dir_fd=old_fd, dst_dir_fd=new_fd)
                info = os.stat(new_name, dir_fd=new_fd, follow_symlinks=False)
        except FileNotFoundError as exc:
            raise FileAccessError(f"cannot move {source!r} to {destination!r}: not found") from exc
        except OSError as exc:
            raise FileAccessError(f"cannot move {source!r}: {exc.strerror}") from exc
        return _entry("/".join([*new_parents, new_name]), new_name, info)

    async def _entry(self, parts: list[str]) -> EntryInfo:
        with self._directory(parts[:-1]) as dir_fd:
            info = os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False)
        return _entry("/".join(parts), parts[-1], info)

    def usage_bytes(self) -> int:
        """Bytes used by regular files in the workdir (links and special files not followed)."""
        total = 0
        for directory, _dirs, files, dir_fd in os.fwalk(self.root):
            del directory
            for name in files:
                with contextlib.suppress(OSError):
                    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                    if stat.S_ISREG(info.st_mode):
                        total += info.st_size
        return total

    def _remaining_quota(self) -> int:
        if self.quota_bytes is None:
            return 1 << 62
        return max(0, self.quota_bytes - self.usage_bytes())


async def _chunks(data: FileData) -> AsyncIterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        yield bytes(data)
    elif hasattr(data, "__aiter__"):
        async for chunk in data:  # type: ignore[union-attr]
            yield bytes(chunk)
    elif hasattr(data, "read"):
        while chunk := await asyncio.to_thread(data.read, _CHUNK):  # type: ignore[union-attr]
            if inspect.isawaitable(chunk):
                raise TypeError("use an async iterable for asynchronous streams")
            yield bytes(chunk)
    else:
        raise TypeError(f"cannot write {type(data).__name__}; give bytes, a file or a stream")


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _entry(path: str, name: str, info: os.stat_result) -> EntryInfo:
    return EntryInfo(
        name=name,
        path=path,
        is_dir=stat.S_ISDIR(info.st_mode),
        size=info.st_size,
        modified=datetime.fromtimestamp(info.st_mtime, UTC),
    )


def _by_path(entry: EntryInfo) -> str:
    return entry.path
