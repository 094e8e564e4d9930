"""A multipart/form-data body that streams one file from disk.

httpx's own multipart encoder reads the file in chunks too, but it cannot report progress;
this body yields the file a chunk at a time, calling `progress(sent, total)` as it goes, and
says its exact length up front so the server's size limit applies before it reads anything.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

CHUNK_SIZE = 256 * 1024
FILE_FIELD = "file"

Progress = Callable[[int, int], None]


def _quoted(filename: str) -> str:
    # RFC 7578: UTF-8 sent as is; only the characters that would end the parameter escaped.
    escapes = {'"': "%22", "\r": "%0D", "\n": "%0A", "\\": "\\\\"}
    return "".join(escapes.get(c, c) for c in filename)


class FileUploadBody:
    """`headers` and an async iterable of bytes for `httpx` (`content=body.chunks()`)."""

    def __init__(self, path: Path, progress: Progress | None = None) -> None:
        self.path = path
        self.progress = progress
        self.size = path.stat().st_size
        boundary = secrets.token_hex(16)
        self._head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{FILE_FIELD}"; '
            f'filename="{_quoted(path.name)}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{boundary}--\r\n".encode()
        self.headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(self._head) + self.size + len(self._tail)),
        }

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self._head
        sent = 0
        if self.progress:
            self.progress(0, self.size)
        with self.path.open("rb") as handle:
            while sent < self.size:
                chunk = handle.read(min(CHUNK_SIZE, self.size - sent))
                if not chunk:
                    raise OSError(f"{self.path} shrank while it was being uploaded")
                sent += len(chunk)
                yield chunk
                if self.progress:
                    self.progress(sent, self.size)
        yield self._tail
