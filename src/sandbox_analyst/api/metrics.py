"""`GET /metrics` (Prometheus) and the HTTP request measurements behind it.

Who may scrape: an admin's API key by default; anyone with `metrics.public`; a client whose
address is in `metrics.allow_networks` without a key. `HTTPMetricsMiddleware` times every
request and labels it with its route's template (`/api/conversations/{conversation_id}`), never
the raw path, so ids do not become label values; paths no route matched are "unmatched".
"""

from __future__ import annotations

import ipaddress
import time

from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox_analyst.api.auth import OptionalPrincipal
from sandbox_analyst.config import MetricsSettings
from sandbox_analyst.service import Forbidden, NotFound, Services, Unauthorized
from sandbox_analyst.telemetry import HTTPRequestFinished, emit, prometheus

router = APIRouter(tags=["operations"])


def live_state(services: Services) -> prometheus.LiveState:
    sessions = services.sandboxes.sessions
    return prometheus.LiveState(
        sessions_live=lambda: len(sessions),
        pool_ready=sessions.provider.ready_workers,
        turns_running=lambda: services.chat.running_turns,
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus exposition."},
        403: {"description": "The key is not an admin's."},
    },
)
async def metrics(request: Request, principal: OptionalPrincipal) -> Response:
    """The server's metrics in Prometheus text format (OpenMetrics when asked by `Accept`)."""
    settings: MetricsSettings = request.app.state.settings.metrics
    if not settings.enabled:
        raise NotFound("metrics are switched off (metrics.enabled)")
    if not (settings.public or _from_allowed_network(request, settings)):
        if principal is None:
            raise Unauthorized(
                "authentication required: send an admin's `Authorization: Bearer <API key>`"
            )
        if not principal.is_admin:
            raise Forbidden("only an admin may read the metrics")
    body, content_type = prometheus.render(request.app.state.metrics_registry, _accept(request))
    return Response(body, media_type=content_type)


def _accept(request: Request) -> str | None:
    return request.headers.get("accept")


def _from_allowed_network(request: Request, settings: MetricsSettings) -> bool:
    if not settings.allow_networks or request.client is None:
        return False
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return any(address in network for network in settings.allow_networks)


class HTTPMetricsMiddleware:
    """Reports an `HTTPRequestFinished` for each HTTP request, once its response has ended
    (a stream: when it closed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500  # what the client gets if the app fails before it answers

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = "unmatched" if route is None else getattr(route, "path", "") or "/"
            emit(HTTPRequestFinished(scope["method"], template, status, time.monotonic() - started))
