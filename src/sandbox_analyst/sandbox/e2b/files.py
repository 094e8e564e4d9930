"""Files of an E2B session, through the SDK's filesystem API (envd).

E2B sandboxes start their code in `/home/user`: that is the session's workdir, and every path
given here is relative to it. Paths are checked with the rules every backend uses before
anything is sent, so a bad path is refused the same way here as on this machine. Inside an E2B
sandbox the whole VM belongs to the session, so the check is about the contract (the workdir),
not about protecting anything outside it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from e2b import EntryInfo as SDKEntryInfo
from e2b import FileType, NotFoundException

from sandbox_analyst.sandbox.base import FileData, SandboxFiles
from sandbox_analyst.sandbox.errors import FileAccessError, PathEscapeError
from sandbox_analyst.sandbox.models import EntryInfo
from sandbox_analyst.sandbox.paths import split_path

if TYPE_CHECKING:
    from sandbox_analyst.sandbox.e2b.sandbox import E2BSandbox

HOME = "/home/user"
RECURSIVE_DEPTH = 64  # levels a recursive listing asks for (envd needs a number)


class E2BFiles(SandboxFiles):
    def __init__(self, sandbox: E2BSandbox) -> None:
        self._sandbox = sandbox

    async def write(self, path: str, data: FileData) -> EntryInfo:
        """Write a file from bytes, a binary file object or an async byte stream (streamed to
        envd, not held in memory); missing parent directories are created."""
        target = _absolute(path, file=True)
        if not isinstance(data, bytes | bytearray | memoryview) and not (
            hasattr(data, "__aiter__") or hasattr(data, "read")
        ):
            raise TypeError(f"cannot write {type(data).__name__}; give bytes, a file or a stream")
        payload = bytes(data) if isinstance(data, bytearray | memoryview) else data
        files = self._sandbox.sdk_files()
        async with self._sandbox.file_call(f"write {path!r}"):
            await files.write(target, payload)  # type: ignore[arg-type]
            return _entry(await files.get_info(target))

    async def read(self, path: str, *, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
        """The file in chunks of exactly `chunk_size` bytes (the last may be shorter), as
        envd streams it: a large file is never held whole."""
        target = _absolute(path, file=True)
        size = max(1, chunk_size)
        async with self._sandbox.file_call(f"read {path!r}", missing="no such file"):
            stream = await self._sandbox.sdk_files().read(target, format="stream")
        pending = bytearray()
        try:
            async with self._sandbox.file_call(f"read {path!r}"):
                async for piece in stream:
                    pending += piece
                    while len(pending) >= size:
                        yield bytes(pending[:size])
                        del pending[:size]
        finally:
            await stream.aclose()
        if pending:
            yield bytes(pending)

    async def list(self, path: str = ".", *, recursive: bool = False) -> list[EntryInfo]:
        target = _absolute(path)
        depth = RECURSIVE_DEPTH if recursive else 1
        async with self._sandbox.file_call(f"list {path!r}", missing="no such directory"):
            entries = await self._sandbox.sdk_files().list(target, depth=depth)
        return sorted((_entry(entry) for entry in entries), key=lambda entry: entry.path)

    async def remove(self, path: str) -> None:
        target = _absolute(path, file=True)
        files = self._sandbox.sdk_files()
        async with self._sandbox.file_call(f"remove {path!r}", missing="no such file"):
            # envd removes what is not there without a word; the contract says otherwise.
            if not await files.exists(target):
                raise NotFoundException(f"{target} does not exist")
            await files.remove(target)

    async def exists(self, path: str) -> bool:
        target = _absolute(path)
        async with self._sandbox.file_call(f"check {path!r}"):
            return bool(await self._sandbox.sdk_files().exists(target))

    async def make_dir(self, path: str) -> bool:
        target = _absolute(path, file=True)
        async with self._sandbox.file_call(f"create directory {path!r}"):
            return bool(await self._sandbox.sdk_files().make_dir(target))

    async def move(self, source: str, destination: str) -> EntryInfo:
        old, new = _absolute(source, file=True), _absolute(destination, file=True)
        async with self._sandbox.file_call(f"move {source!r}", missing="no such file"):
            return _entry(await self._sandbox.sdk_files().rename(old, new))


def _absolute(path: str, *, file: bool = False) -> str:
    parts = split_path(path)
    if file and not parts:
        raise PathEscapeError(path, "a file name is required")
    return "/".join([HOME, *parts])


def _relative(path: str) -> str:
    if path == HOME:
        return ""
    if not path.startswith(HOME + "/"):
        raise FileAccessError(f"E2B answered with a path outside the workdir: {path!r}")
    return path[len(HOME) + 1 :]


def _entry(raw: SDKEntryInfo) -> EntryInfo:
    return EntryInfo(
        name=raw.name,
        path=_relative(raw.path),
        is_dir=raw.type == FileType.DIR,
        size=int(raw.size or 0),
        modified=raw.modified_time,
    )
