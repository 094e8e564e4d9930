"""What every HTTP request leaves behind: a request id (the client's `X-Request-ID` when it is
a sane token, else a new one; echoed back on the response and on every log line written while
the request runs, the turns it starts included), one access log line and one
`HTTPRequestFinished` for the metrics, both by route template, never the raw path and query
(ids in label values; a signed link's signature in the logs)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox_analyst.telemetry import HTTPRequestFinished, emit
from sandbox_analyst.telemetry.context import request_id

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

access_log = logging.getLogger("sandbox_analyst.access")


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    if route is None:
        return "unmatched"
    return getattr(route, "path", "") or "/"


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            given = value.decode("latin-1")
            if _SANE_ID.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex


class RequestTelemetryMiddleware:
    def __init__(self, app: ASGIApp, *, route_prefix: str = "") -> None:
        """`route_prefix` tells apart the routes of another app on the same metrics (the
        E2B-compatible API's `/health` is not the main app's)."""
        self.app = app
        self.route_prefix = route_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500  # what the client gets if the app fails before it answers
        rid = _request_id(scope)
        token = request_id.set(rid)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (name, value)
                    for name, value in message.get("headers", ())
                    if name.lower() != REQUEST_ID_HEADER.encode()
                ]
                headers.append((REQUEST_ID_HEADER.encode(), rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.monotonic() - started
            method, route = scope["method"], self.route_prefix + route_template(scope)
            emit(HTTPRequestFinished(method, route, status, seconds))
            access_log.info(
                "%s %s %d %.1f ms",
                method,
                route,
                status,
                seconds * 1000,
                extra={"method": method, "route": route, "status": status},
            )
            request_id.reset(token)
