"""Serving a worker's egress channel: the sockets its relay accepted (inside the session's
network namespace) arrive here one by one and are proxied, in the server's event loop, under
the session's `EgressSession`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket

from sandbox_analyst.sandbox.egress.proxy import serve_connection
from sandbox_analyst.sandbox.egress.session import EgressSession

log = logging.getLogger(__name__)
_MAX_FDS = 16  # per message; the relay sends one


class EgressChannel:
    """Reads one worker's channel until it closes; the socket stays the worker's to close."""

    def __init__(self, channel: socket.socket, session: EgressSession) -> None:
        self.channel = channel
        self.session = session
        self._loop = asyncio.get_running_loop()
        self._reading = False

    def start(self) -> None:
        self.channel.setblocking(False)
        self._loop.add_reader(self.channel.fileno(), self._on_readable)
        self._reading = True

    def stop(self) -> None:
        if self._reading:
            self._reading = False
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(self.channel.fileno())

    def _on_readable(self) -> None:
        while True:
            try:
                data, fds, _flags, _address = socket.recv_fds(self.channel, 16, _MAX_FDS)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.stop()
                return
            if not data and not fds:
                self.stop()  # the relay is gone (the worker exited or it was killed)
                return
            for fd in fds:
                self._accept(fd)

    def _accept(self, fd: int) -> None:
        try:
            connection = socket.socket(fileno=fd)
        except OSError:  # not a socket: nothing the relay would send
            os.close(fd)
            return
        if connection.type != socket.SOCK_STREAM or self.session.closed:
            connection.close()
            return
        task = self._loop.create_task(self._serve(connection))
        self.session.track(task)

    async def _serve(self, connection: socket.socket) -> None:
        try:
            connection.setblocking(False)
            reader, writer = await asyncio.open_connection(sock=connection)
        except OSError:
            connection.close()
            return
        try:
            await serve_connection(self.session, reader, writer)
        except asyncio.CancelledError:
            writer.close()
            raise
        except Exception:  # one broken connection must not take the others down
            log.exception("egress connection of session %s failed", self.session.session_id)
            writer.close()
