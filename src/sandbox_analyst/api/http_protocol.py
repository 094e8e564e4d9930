"""The HTTP/1.1 protocol `analyst serve` runs: uvicorn's h11 protocol with a deadline for the
request headers.

uvicorn closes idle keep-alive connections, but a connection that is opened and then sends
nothing, or half a request line and then a byte now and then, is kept forever: enough of
them ("slowloris") hold every socket and file descriptor the server has. Here the headers of
each request must be complete within `server.header_timeout_s` of the moment the server
started waiting for them (the connection opened, or the previous response ended); a client
that is too slow gets a 408 if it had started a request, and the connection is closed.
Trickling bytes does not extend the deadline. Once the headers are in, the deadline is off:
bodies are streamed under their own limits, and answers (SSE) may take as long as they take.

`header_deadline_protocol(seconds)` gives the class to pass as uvicorn's `http=`. It always
builds on h11 (pure Python, what uvicorn uses without its optional `httptools`), so the
deadline holds whichever extras are installed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import h11  # uvicorn's own HTTP/1.1 parser (a dependency of uvicorn)
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HeaderDeadlineProtocol", "header_deadline_protocol"]

logger = logging.getLogger(__name__)


def _timeout_response(seconds: float) -> bytes:
    body = json.dumps(
        {
            "error": {
                "code": "request_timeout",
                "message": f"the request headers did not arrive within {seconds:g} s",
            }
        }
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


class HeaderDeadlineProtocol(H11Protocol):
    header_timeout_s = 15.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_headers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_headers()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadline()
        super().connection_lost(exc)

    def _awaiting_headers(self) -> bool:
        # Both sides idle: between requests, or inside a request line / headers that h11
        # is still buffering (it reports a request only once its headers are complete).
        return self.conn.our_state is h11.IDLE and self.conn.their_state is h11.IDLE

    def _watch_headers(self) -> None:
        if self.transport.is_closing() or not self._awaiting_headers():
            self._stop_deadline()
        elif self._header_deadline is None:
            self._header_deadline = self.loop.call_later(
                self.header_timeout_s, self._headers_too_slow
            )

    def _stop_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing() or not self._awaiting_headers():
            return
        started, _closed = self.conn.trailing_data
        logger.debug(
            "closing a connection from %s: request headers incomplete after %g s",
            self.client,
            self.header_timeout_s,
        )
        if started:
            self.transport.write(_timeout_response(self.header_timeout_s))
        self.transport.close()


def header_deadline_protocol(header_timeout_s: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class for uvicorn's `http=`, with this header deadline."""
    return type(
        "HeaderDeadlineProtocol",
        (HeaderDeadlineProtocol,),
        {"header_timeout_s": header_timeout_s, "__module__": __name__},
    )
