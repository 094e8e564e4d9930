"""`GET /metrics` (Prometheus). Requests are measured by `request_telemetry`.

Who may scrape: an admin's API key by default; anyone with `metrics.public`; a client whose
address is in `metrics.allow_networks` without a key.
"""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Request, Response

from sandbox_analyst.api.auth import OptionalPrincipal
from sandbox_analyst.config import MetricsSettings
from sandbox_analyst.service import Forbidden, NotFound, Services, Unauthorized
from sandbox_analyst.telemetry import prometheus

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
