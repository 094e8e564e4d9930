"""The wire protocol between the server and one worker: length-prefixed JSON frames over a Unix
stream socket.

Frame = 4-byte big-endian length + UTF-8 JSON object. The worker runs hostile code in the same
process that speaks this protocol, so the server side treats every frame as untrusted: a frame
larger than `MAX_FRAME` or that is not a JSON object is a protocol violation, and the worker is
killed.

server -> worker:  {"op": "execute", "code": str, "env": {name: value}}
                   {"op": "command", "command": str, "cwd": str | null, "env": {name: value}}
                   {"op": "setenv", "env": {name: value}}
                   {"op": "ping"}
worker -> server:  {"type": "ready", "pid": int, "cwd": str}
                   {"type": "stdout" | "stderr", "text": str}
                   {"type": "result", "bundle": {mime: data}, "main": bool}
                   {"type": "error", "name": str, "value": str, "traceback": str}
                   {"type": "done", "execution_count": int | None, "dropped": int,
                    "peak_memory": int}
                   {"type": "done", "exit_code": int | None, "error": str | None,
                    "dropped": int, "peak_memory": int}              (after "command")
                   {"type": "done", "peak_memory": int}              (after "setenv")
                   {"type": "pong"}

`execute` runs a cell in the IPython shell with `env` set for that cell only. `command` runs
`bash -c COMMAND` as a child in its own process group, in `cwd` (relative to the workdir),
with `env` added to its environment; its output arrives as stdout/stderr frames, and an
interrupt (SIGINT to the worker) kills the group: `exit_code` is then null. `setenv` sets
variables for the rest of the session. `peak_memory` is the larger of the worker's high-water
resident memory and its largest finished child's, in bytes.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from typing import Any

from sandbox_analyst.sandbox.errors import SandboxError

_HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024


class ProtocolError(SandboxError):
    """The worker sent something that is not a valid frame."""


class FrameTooLargeError(ProtocolError):
    """A frame announced more than `MAX_FRAME` bytes."""


class TruncatedFrameError(ProtocolError):
    """The channel ended in the middle of a frame (the worker died while writing it)."""


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    return _HEADER.pack(len(body)) + body


def _decode(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise ProtocolError(f"it sent a malformed frame: {exc}") from exc
    if not isinstance(message, dict):
        raise ProtocolError("it sent a malformed frame: not a JSON object")
    return message


async def read_frame(reader: asyncio.StreamReader) -> tuple[dict[str, Any], int] | None:
    """The next frame and its size in bytes, or None at a clean end of stream."""
    try:
        header = await reader.readexactly(_HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise TruncatedFrameError("its channel closed in the middle of a frame") from exc
        return None
    (length,) = _HEADER.unpack(header)
    if length > MAX_FRAME:
        raise FrameTooLargeError(
            f"it sent an output frame of {length:,} bytes, over the {MAX_FRAME >> 20} MiB limit "
            "of the channel"
        )
    try:
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise TruncatedFrameError("its channel closed in the middle of a frame") from exc
    return _decode(body), length


# Blocking variants, used inside the worker (which has no event loop).


def recv_frame_blocking(sock: socket.socket) -> dict[str, Any] | None:
    header = _recv_exactly(sock, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    body = _recv_exactly(sock, length)
    if body is None:
        raise ProtocolError("server closed the channel mid-frame")
    return _decode(body)


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)
