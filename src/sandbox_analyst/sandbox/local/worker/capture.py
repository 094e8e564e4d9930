"""Capture of everything written to file descriptors 1 and 2 — by Python's print, by C
extensions, and by subprocesses the user's code starts — streamed to the server as it comes.

A reader thread forwards the pipes; a per-execution byte budget caps what is forwarded so an
output flood cannot exhaust the server (the excess is drained and counted, never buffered).
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import select
import sys
import threading

from sandbox_analyst.sandbox.local.worker.channel import ServerChannel

_CHUNK = 1 << 16


class OutputCapture:
    def __init__(self, channel: ServerChannel, limit: int) -> None:
        self._channel = channel
        self._limit = limit
        self._lock = threading.Lock()
        self._sent = 0
        self.dropped = 0
        self._pipes: dict[int, str] = {}
        self._decoders: dict[int, codecs.IncrementalDecoder] = {}
        for target, name in ((1, "stdout"), (2, "stderr")):
            read_end, write_end = os.pipe()
            os.dup2(write_end, target)
            os.close(write_end)
            os.set_blocking(read_end, False)
            self._pipes[read_end] = name
            self._decoders[read_end] = codecs.getincrementaldecoder("utf-8")("replace")
        # Line buffering: a print() reaches the server while the cell is still running.
        sys.stdout = io.TextIOWrapper(
            io.FileIO(1, "w", closefd=False), encoding="utf-8", line_buffering=True
        )
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False), encoding="utf-8", line_buffering=True
        )
        threading.Thread(target=self._forward_forever, name="output", daemon=True).start()

    def begin(self) -> None:
        """Start a fresh budget for the next execution."""
        with self._lock:
            self._sent = 0
            self.dropped = 0

    def drain(self) -> None:
        """Forward everything written so far; called before an execution reports `done`."""
        for stream in (sys.stdout, sys.stderr):
            # User code may have closed or replaced the stream.
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        with self._lock:
            for fd in self._pipes:
                self._read_available(fd)

    def _forward_forever(self) -> None:
        fds = list(self._pipes)
        while True:
            readable, _, _ = select.select(fds, [], [])
            with self._lock:
                for fd in readable:
                    self._read_available(fd)

    def _read_available(self, fd: int) -> None:
        while True:
            try:
                data = os.read(fd, _CHUNK)
            except BlockingIOError:
                return
            if not data:
                return
            self._forward(fd, data)

    def _forward(self, fd: int, data: bytes) -> None:
        room = self._limit - self._sent
        if room <= 0:
            self.dropped += len(data)
            return
        if len(data) > room:
            self.dropped += len(data) - room
            data = data[:room]
        self._sent += len(data)
        text = self._decoders[fd].decode(data)
        if self._sent >= self._limit:
            text += self._decoders[fd].decode(b"", final=True)
            text += f"\n[output truncated: limit of {self._limit} bytes reached]\n"
        if text:
            self._channel.send({"type": self._pipes[fd], "text": text})
