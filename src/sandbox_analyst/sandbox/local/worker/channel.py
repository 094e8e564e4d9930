"""The worker's end of the channel to the server: blocking frame I/O, safe against interrupts."""

from __future__ import annotations

import signal
import socket
import threading
from typing import Any

from sandbox_analyst.sandbox.local.protocol import MAX_FRAME, encode, recv_frame_blocking


class ServerChannel:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        # The output reader thread and the main thread both send frames.
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        frame = encode(message)
        if len(frame) > MAX_FRAME:
            # The server would kill the worker for it (it cannot tell a huge output from a
            # hostile one); telling it what was left out keeps the session alive.
            frame = encode(
                {
                    "type": "stderr",
                    "text": f"[a {message.get('type', 'frame')} output of {len(frame):,} bytes "
                    f"was not sent: over the {MAX_FRAME >> 20} MiB limit of one output]\n",
                }
            )
        # A KeyboardInterrupt raised half-way through sendall would corrupt the framing, so
        # SIGINT is held back while a frame is written (only the main thread receives it).
        on_main = threading.current_thread() is threading.main_thread()
        if on_main:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            with self._lock:
                self._sock.sendall(frame)
        finally:
            if on_main:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    def receive(self) -> dict[str, Any] | None:
        return recv_frame_blocking(self._sock)
