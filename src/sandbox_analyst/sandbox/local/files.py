"""Files in a session's workdir, accessed from the server side.

The workdir is shared with hostile code, which can plant symlinks or swap a directory for a
link at any moment, and fill it with FIFOs, sockets, device nodes, millions of entries or a tree
thousands of levels deep. So:

- paths are never resolved as strings: every component is opened with O_NOFOLLOW relative to
  the directory before it (openat), starting at a descriptor of the workdir itself; a path with
  `..`, an absolute path or a symlink anywhere is refused;
- files are opened with O_NONBLOCK and read only if the descriptor is a regular file (opening a
  FIFO would otherwise wait for a writer that never comes);
- every walk is iterative and bounded (`workdir_walk`), deletion flattens the tree
  (`tree_removal`);
- all of it runs in worker threads: nothing here may block the server's event loop, whatever
  the code in the sandbox made.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import inspect
import os
import stat
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sandbox_analyst.sandbox.base import FileData, SandboxFiles
from sandbox_analyst.sandbox.errors import FileAccessError, PathEscapeError
from sandbox_analyst.sandbox.local.tree_removal import remove_entry
from sandbox_analyst.sandbox.local.workdir_walk import DIRECTORY_FLAGS, TreeWalk, WalkLimits
from sandbox_analyst.sandbox.models import EntryInfo, Listing
from sandbox_analyst.sandbox.paths import split_path

_CHUNK = 1 << 20
_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
# `list()` (the whole interface's listing) is bounded too; `walk()` lets the caller choose.
_LIST_LIMITS = WalkLimits(max_entries=100_000, max_depth=64, time_limit=10.0)
# Quota checks must see files at any depth; a walk cut by time counts what it saw.
_USAGE_LIMITS = WalkLimits(max_entries=None, max_depth=None, time_limit=10.0)


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
        fd = os.open(self.root, DIRECTORY_FLAGS)
        try:
            for index, part in enumerate(parts):
                try:
                    next_fd = os.open(part, DIRECTORY_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    os.mkdir(part, 0o755, dir_fd=fd)
                    self._chown(part, fd)
                    next_fd = os.open(part, DIRECTORY_FLAGS, dir_fd=fd)
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
        out, budget = await asyncio.to_thread(self._create, path, parents, name, temporary)
        try:
            async for chunk in _chunks(data):
                budget -= len(chunk)
                if budget < 0:
                    raise FileAccessError(
                        f"writing {path!r} would exceed the workdir quota of "
                        f"{self.quota_bytes} bytes"
                    )
                await asyncio.to_thread(out.write, chunk)
            await asyncio.to_thread(out.close)
            return await asyncio.to_thread(self._publish, path, parents, name, temporary)
        except BaseException:
            out.close()
            await asyncio.to_thread(self._discard, parents, temporary)
            raise

    def _create(
        self, path: str, parents: list[str], name: str, temporary: str
    ) -> tuple[BinaryIO, int]:
        with self._directory(parents, create=True) as dir_fd:
            if _is_link(name, dir_fd):
                raise PathEscapeError(path, "symbolic links are not followed")
            fd = os.open(
                temporary,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o644,
                dir_fd=dir_fd,
            )
        return os.fdopen(fd, "wb", closefd=True), self._remaining_quota()

    def _publish(self, path: str, parents: list[str], name: str, temporary: str) -> EntryInfo:
        with self._directory(parents) as dir_fd:
            self._chown(temporary, dir_fd)
            os.rename(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            return _entry(path, name, os.stat(name, dir_fd=dir_fd, follow_symlinks=False))

    def _discard(self, parents: list[str], temporary: str) -> None:
        with contextlib.suppress(OSError), self._directory(parents) as dir_fd:
            os.unlink(temporary, dir_fd=dir_fd)

    async def read(self, path: str, *, chunk_size: int = _CHUNK) -> AsyncIterator[bytes]:
        source = await asyncio.to_thread(self._open_regular, path)
        try:
            while chunk := await asyncio.to_thread(source.read, chunk_size):
                yield chunk
        finally:
            source.close()

    def _open_regular(self, path: str) -> BinaryIO:
        parents, name = self._target(path)
        try:
            with self._directory(parents) as dir_fd:
                fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
        except FileNotFoundError as exc:
            raise FileAccessError(f"no such file in the workdir: {path!r}") from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # the last component is a link
                raise PathEscapeError(path, "symbolic links are not followed") from exc
            if exc.errno == errno.ENXIO:  # a socket (or a FIFO opened for writing)
                raise FileAccessError(f"not a regular file: {path!r}") from exc
            raise FileAccessError(f"cannot read {path!r}: {exc.strerror}") from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise FileAccessError(f"not a regular file: {path!r}")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")

    async def list(self, path: str = ".", *, recursive: bool = False) -> list[EntryInfo]:
        """The entries of `path` (and below, if `recursive`), sorted by path. Bounded like
        everything here: a recursive listing stops after 100,000 entries, 64 levels or 10 s."""
        limits = _LIST_LIMITS if recursive else WalkLimits(max_depth=1)
        listing = await asyncio.to_thread(self._walk, path, limits)
        return listing.entries

    async def walk(
        self,
        path: str = ".",
        *,
        max_entries: int = 10_000,
        max_depth: int = 32,
        time_limit: float = 5.0,
    ) -> Listing:
        limits = WalkLimits(max_entries=max_entries, max_depth=max_depth, time_limit=time_limit)
        return await asyncio.to_thread(self._walk, path, limits)

    def _walk(self, path: str, limits: WalkLimits) -> Listing:
        parts = split_path(path)
        try:
            with self._directory(parts) as dir_fd:
                tree = TreeWalk(dir_fd, limits, prefix="/".join(parts))
                entries = [
                    _entry(relative, relative.rsplit("/", 1)[-1], info) for relative, info in tree
                ]
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise FileAccessError(f"no such directory in the workdir: {path!r}") from exc
        entries.sort(key=_by_path)
        return Listing(entries, tree.truncated)

    async def remove(self, path: str) -> None:
        """Remove a file, or a directory with everything in it (any depth, any mode)."""
        await asyncio.to_thread(self._remove, path)

    def _remove(self, path: str) -> None:
        parents, name = self._target(path)
        try:
            with self._directory(parents) as dir_fd:
                os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                remove_entry(dir_fd, name)
        except FileNotFoundError as exc:
            raise FileAccessError(f"no such file in the workdir: {path!r}") from exc

    async def exists(self, path: str) -> bool:
        return await asyncio.to_thread(self._exists, path)

    def _exists(self, path: str) -> bool:
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
        """Bytes used by regular files in the workdir, at any depth (links and special files
        not followed or counted). Blocking: call it in a thread. Past 10 s of walking, what
        was counted so far (a lower bound)."""
        fd = os.open(self.root, DIRECTORY_FLAGS)
        try:
            return sum(
                info.st_size
                for _, info in TreeWalk(fd, _USAGE_LIMITS)
                if stat.S_ISREG(info.st_mode)
            )
        finally:
            os.close(fd)

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
