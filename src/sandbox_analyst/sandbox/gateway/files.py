"""Files in a gateway session's workdir, moved through the kernel: the gateway has no file API.

Each operation is a silent execute request running one of the bootstrap's file operations
(`kernel_side`), which walks paths with O_NOFOLLOW from the workdir like the local backend
does. Content travels base64-encoded in the request's metadata, one chunk per request, so a
large file never becomes one huge message. Paths are checked here first with the local
backend's rules, so a bad path is refused the same way before anything is sent.
"""

from __future__ import annotations

import base64
import contextlib
import inspect
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox_analyst.sandbox.base import FileData, SandboxFiles
from sandbox_analyst.sandbox.errors import FileAccessError, PathEscapeError
from sandbox_analyst.sandbox.gateway.kernel import CallRefused
from sandbox_analyst.sandbox.models import EntryInfo
from sandbox_analyst.sandbox.paths import split_path

if TYPE_CHECKING:
    from sandbox_analyst.sandbox.gateway.sandbox import GatewaySandbox

CHUNK = 1 << 20  # bytes per request; ~1.4 MB once base64-encoded


class GatewayFiles(SandboxFiles):
    def __init__(self, sandbox: GatewaySandbox) -> None:
        self._sandbox = sandbox

    async def _call(self, op: str, subject: str, **args: Any) -> Any:
        try:
            return await self._sandbox.call(op, **args)
        except CallRefused as refused:
            if refused.kind == "escape":
                raise PathEscapeError(refused.path or subject, str(refused)) from None
            if refused.kind == "missing":
                raise FileAccessError(f"{refused}: {refused.path or subject!r}") from None
            raise FileAccessError(f"{subject!r}: {refused}") from None

    async def write(self, path: str, data: FileData) -> EntryInfo:
        """Write a file from bytes, a binary file object or an async byte stream. The file
        appears whole or not at all (written under a temporary name, then renamed)."""
        _check(path, file=True)
        token = await self._call("write_begin", path, path=path)
        try:
            async for chunk in _chunks(data):
                for start in range(0, len(chunk), CHUNK):
                    piece = base64.b64encode(chunk[start : start + CHUNK]).decode("ascii")
                    await self._call("write_chunk", path, token=token, data=piece)
            entry = await self._call("write_end", path, token=token)
        except BaseException:
            with contextlib.suppress(Exception):
                await self._sandbox.call("write_abort", token=token)
            raise
        return _entry(entry)

    async def read(self, path: str, *, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        _check(path, file=True)
        size = max(1, min(chunk_size, CHUNK))
        offset = 0
        while True:
            answer = await self._call("read", path, path=path, offset=offset, length=size)
            data = base64.b64decode(answer["data"])
            if data:
                yield data
            offset += len(data)
            if answer.get("eof") or not data:
                return

    async def list(self, path: str = ".", *, recursive: bool = False) -> list[EntryInfo]:
        _check(path)
        entries = await self._call("list", path, path=path, recursive=recursive)
        return [_entry(entry) for entry in entries]

    async def remove(self, path: str) -> None:
        _check(path, file=True)
        await self._call("remove", path, path=path)

    async def exists(self, path: str) -> bool:
        _check(path)
        return bool(await self._call("exists", path, path=path))


def _check(path: str, *, file: bool = False) -> None:
    parts = split_path(path)
    if file and not parts:
        raise PathEscapeError(path, "a file name is required")


def _entry(raw: dict[str, Any]) -> EntryInfo:
    return EntryInfo(
        name=str(raw["name"]),
        path=str(raw["path"]),
        is_dir=bool(raw["is_dir"]),
        size=int(raw["size"]),
        modified=datetime.fromtimestamp(float(raw["modified"]), UTC),
    )


async def _chunks(data: FileData) -> AsyncIterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        yield bytes(data)
    elif hasattr(data, "__aiter__"):
        async for chunk in data:  # type: ignore[union-attr]
            yield bytes(chunk)
    elif hasattr(data, "read"):
        while chunk := data.read(CHUNK):  # type: ignore[union-attr]
            if inspect.isawaitable(chunk):
                raise TypeError("use an async iterable for asynchronous streams")
            yield bytes(chunk)
    else:
        raise TypeError(f"cannot write {type(data).__name__}; give bytes, a file or a stream")
