"""Request body limits, enforced as the body arrives rather than after it has been buffered.

FastAPI reads a JSON body whole into memory before the endpoint runs, so without a limit one
request of a few gigabytes takes the server's memory. `BodyLimitMiddleware` wraps `receive`:
on the first read it compares the declared `Content-Length` with the limit of the matched
route, before a byte of the body is taken; a chunked body (no length) is counted as it
streams and cut off the moment it passes the limit. Either way the answer is a 413 in the
front end's usual error shape (the error handlers map `RequestBodyTooLarge`), and the
connection is closed (`Connection: close`) so the rest of an oversized body is not read.

Every route gets the JSON limit (`server.max_json_kb`) unless its endpoint says otherwise:
`@body_kind(BodyKind.INLINE_FILES)` for requests that carry files inline as base64 (the
OpenAI-compatible `/v1/chat/completions`: `openai_compat.max_request_mb`), and
`@body_kind(BodyKind.STREAMED)` for endpoints that stream the body to storage under a limit of
their own (uploads: `server.max_upload_mb`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TypeVar

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox_analyst.api.errors import error_response

__all__ = ["BodyKind", "BodyLimitMiddleware", "RequestBodyTooLarge", "body_kind"]

_KIND_ATTRIBUTE = "__analyst_body_kind__"
CLOSE_HEADERS = {"Connection": "close"}
_Endpoint = TypeVar("_Endpoint", bound=Callable[..., object])


class BodyKind(enum.Enum):
    JSON = "json"
    INLINE_FILES = "inline_files"
    STREAMED = "streamed"


def body_kind(kind: BodyKind) -> Callable[[_Endpoint], _Endpoint]:
    """Mark an endpoint's body as other than plain JSON (see the module docstring)."""

    def mark(endpoint: _Endpoint) -> _Endpoint:
        setattr(endpoint, _KIND_ATTRIBUTE, kind)
        return endpoint

    return mark


class RequestBodyTooLarge(HTTPException):
    """The request body is over its route's limit. An `HTTPException`, because FastAPI
    passes those through from its body parsing (any other error there becomes a 400)."""

    code = "payload_too_large"
    http_status = 413

    def __init__(self, limit_bytes: int, setting: str) -> None:
        super().__init__(
            status_code=self.http_status,
            detail=f"the request body is larger than the limit of {_size(limit_bytes)} "
            f"(setting {setting})",
            headers=CLOSE_HEADERS,
        )
        self.limit_bytes = limit_bytes


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, json_bytes: int, inline_files_bytes: int) -> None:
        self.app = app
        self._limits: dict[BodyKind, tuple[int, str] | None] = {
            BodyKind.JSON: (json_bytes, "server.max_json_kb"),
            BodyKind.INLINE_FILES: (inline_files_bytes, "openai_compat.max_request_mb"),
            BodyKind.STREAMED: None,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = _LimitedBody(scope, receive, self._limits)
        started = False

        async def send_watching(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, body.receive, send_watching)
        except RequestBodyTooLarge as exc:
            # Raised outside the error handlers (e.g. by a middleware reading the body).
            if started:
                raise
            response = error_response(exc.status_code, exc.code, exc.detail, headers=exc.headers)
            await response(scope, receive, send)


class _LimitedBody:
    """`receive` for one request, counting its body against the matched route's limit."""

    def __init__(
        self, scope: Scope, receive: Receive, limits: dict[BodyKind, tuple[int, str] | None]
    ) -> None:
        self._scope = scope
        self._receive = receive
        self._limits = limits
        self._limit: tuple[int, str] | None = None
        self._first = True
        self._received = 0

    async def receive(self) -> Message:
        if self._first:
            # Routing has run by the time an endpoint reads its body: the route is known.
            self._first = False
            endpoint = self._scope.get("endpoint")
            self._limit = self._limits[getattr(endpoint, _KIND_ATTRIBUTE, BodyKind.JSON)]
            declared = _content_length(self._scope)
            if self._limit is not None and declared is not None and declared > self._limit[0]:
                raise RequestBodyTooLarge(*self._limit)
        message = await self._receive()
        if self._limit is not None and message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._limit[0]:
                raise RequestBodyTooLarge(*self._limit)
        return message


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # the HTTP server refuses a malformed length before we see it


def _size(n: int) -> str:
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    return f"{n // 1024} KiB" if n % 1024 == 0 else f"{n} bytes"
