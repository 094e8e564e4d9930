"""`SandboxManager.files`: the sandbox's working directory, where the code runs. Paths are
relative to it (`data/sales.csv`) and may not leave it (`PathEscapeError`); a path that does
not exist gives `FileAccessError`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from sandbox_analyst.sandbox.base import FileData, Sandbox
from sandbox_analyst.sandbox.models import EntryInfo


class SandboxFileSystem:
    def __init__(self, sandbox: Callable[[], Sandbox]) -> None:
        self._sandbox = sandbox  # the manager's current sandbox, or SandboxNotStartedError

    async def write(self, path: str, data: str | FileData) -> EntryInfo:
        """Create or replace the file `path` (parent directories are made); `str` is written
        as UTF-8; a binary file object or an async iterable of bytes is streamed."""
        payload = data.encode() if isinstance(data, str) else data
        return await self._sandbox().files.write(path, payload)

    async def read(self, path: str) -> bytes:
        return await self._sandbox().files.read_bytes(path)

    async def read_text(self, path: str, encoding: str = "utf-8") -> str:
        return (await self.read(path)).decode(encoding)

    def stream(self, path: str, *, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
        """The file's content in chunks, for files too large to hold at once."""
        return self._sandbox().files.read(path, chunk_size=chunk_size)

    async def list(self, path: str = ".", *, recursive: bool = False) -> list[EntryInfo]:
        """The entries of directory `path` (everything below it when `recursive`), each with
        its workdir-relative `path`, `is_dir`, `size` and `modified` time."""
        return await self._sandbox().files.list(path, recursive=recursive)

    async def exists(self, path: str) -> bool:
        return await self._sandbox().files.exists(path)

    async def make_dir(self, path: str) -> bool:
        """Create directory `path` and its parents; False if it already existed."""
        return await self._sandbox().files.make_dir(path)

    async def remove(self, path: str) -> None:
        """Delete the file, or the directory with everything in it."""
        await self._sandbox().files.remove(path)
