"""The `Sandbox` interface every backend implements (local pool today; gateway and E2B later)."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import BinaryIO

from sandbox_analyst.sandbox.errors import FileAccessError, SandboxError
from sandbox_analyst.sandbox.models import (
    EntryInfo,
    Execution,
    ExecutionError,
    Result,
    SandboxInfo,
)

# Output callbacks may be plain functions or coroutines; they fire while the code runs.
OutputHandler = Callable[[str], Awaitable[None] | None]
ResultHandler = Callable[[Result], Awaitable[None] | None]
ErrorHandler = Callable[[ExecutionError], Awaitable[None] | None]
FileData = bytes | BinaryIO | AsyncIterable[bytes]


class SandboxFiles(abc.ABC):
    """Files in the session's workdir. Every path is relative to it and may not escape it."""

    @abc.abstractmethod
    async def write(self, path: str, data: FileData) -> EntryInfo: ...

    @abc.abstractmethod
    def read(self, path: str, *, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]: ...

    async def read_bytes(self, path: str) -> bytes:
        return b"".join([chunk async for chunk in self.read(path)])

    @abc.abstractmethod
    async def list(self, path: str = ".", *, recursive: bool = False) -> list[EntryInfo]: ...

    @abc.abstractmethod
    async def remove(self, path: str) -> None: ...

    @abc.abstractmethod
    async def exists(self, path: str) -> bool: ...

    async def make_dir(self, path: str) -> bool:
        """Create the directory `path` and its parents; False if it already existed."""
        raise FileAccessError(f"{type(self).__name__} cannot create directories")

    async def move(self, source: str, destination: str) -> EntryInfo:
        """Rename `source` to `destination` (whose parent must exist)."""
        raise FileAccessError(f"{type(self).__name__} cannot move files")


class Sandbox(abc.ABC):
    """A stateful Python session: variables, imports and files persist across `run_code`."""

    sandbox_id: str
    files: SandboxFiles

    @abc.abstractmethod
    async def run_code(
        self,
        code: str,
        *,
        timeout: float | None = None,
        on_stdout: OutputHandler | None = None,
        on_stderr: OutputHandler | None = None,
        on_result: ResultHandler | None = None,
        on_error: ErrorHandler | None = None,
    ) -> Execution: ...

    async def open_interpreter(self) -> Sandbox:
        """Another interpreter on this session's files: its own variables, the same workdir.
        It ends with this session; closing it leaves the files."""
        raise SandboxError(f"{type(self).__name__} cannot open a second interpreter")

    @abc.abstractmethod
    async def interrupt(self) -> None:
        """Raise KeyboardInterrupt in the running code; state is kept."""

    @abc.abstractmethod
    async def restart(self) -> None:
        """Fresh interpreter state; files in the workdir are kept."""

    @abc.abstractmethod
    async def close(self) -> None:
        """End the session for good. Idempotent."""

    @abc.abstractmethod
    async def info(self) -> SandboxInfo: ...

    @property
    @abc.abstractmethod
    def generation(self) -> int:
        """Counts interpreter restarts; a change means variables were lost (files were not)."""

    @property
    @abc.abstractmethod
    def closed(self) -> bool: ...

    async def __aenter__(self) -> Sandbox:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
