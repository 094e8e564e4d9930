"""The egress relay: a small process beside the worker that accepts the code's connections to
the proxy address (127.0.0.1:EGRESS_PORT in the session's own network namespace) and hands
each accepted socket, as it is, to the server's egress proxy over the worker's egress channel
(SCM_RIGHTS on a unix socket). It never reads a byte of them itself: the proxy in the server
does all the talking, outside the sandbox, and the relay needs no network of its own.

It is forked from the worker once the worker is confined, so it holds every layer the code
holds; it keeps only the listener and the channel. If user code kills it, that session loses
its egress and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket

from sandbox_analyst.sandbox.local.isolation import libc


def start_relay(listener_fd: int, channel_fd: int) -> int:
    """Fork the relay; in the worker, close both descriptors and return the relay's pid."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            libc.prctl(libc.PR_SET_PDEATHSIG, signal.SIGKILL)  # never outlive the worker
            _close_all_but(listener_fd, channel_fd)
            _relay(socket.socket(fileno=listener_fd), socket.socket(fileno=channel_fd))
            code = 0
        finally:
            os._exit(code)
    os.close(listener_fd)
    os.close(channel_fd)
    return pid


def _relay(listener: socket.socket, channel: socket.socket) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the code's interrupts are not for us
    while True:
        try:
            connection, _ = listener.accept()
        except InterruptedError:
            continue
        try:
            socket.send_fds(channel, [b"c"], [connection.fileno()])
        except OSError:
            return  # the server closed the channel: the session is over
        finally:
            connection.close()


def _close_all_but(*keep: int) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)
