"""The E2B-compatible API as one ASGI app: E2B's control plane, envd and code interpreter
paths at its root, so that `E2B_API_URL` and `E2B_SANDBOX_URL` can both name it.

It runs beside the main app, in the same process and on the same services (`analyst serve`
with `server.e2b_port`: `PortDispatch` sends each connection to the app of the port it came
in on). It has no lifespan of its own: the main app's starts and stops the services.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox_analyst.api.e2b import control, envd_files, envd_filesystem, envd_process, interpreter
from sandbox_analyst.api.e2b.errors import install_e2b_error_handlers
from sandbox_analyst.api.request_telemetry import RequestTelemetryMiddleware


def create_e2b_app(main: FastAPI) -> FastAPI:
    """The E2B API on `main`'s services, settings and single-user principal."""
    app = FastAPI(
        title="Sandbox Analyst: E2B-compatible API",
        description="E2B's control plane, envd and code interpreter, for the official SDKs.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state = main.state  # the same Services, Settings and local principal
    install_e2b_error_handlers(app)
    # Request ids on its log lines and responses, and its requests in the metrics, as the
    # main app's (by route template, as `e2b:/sandboxes/{sandbox_id}`).
    app.add_middleware(RequestTelemetryMiddleware, route_prefix="e2b:")
    for module in (control, interpreter, envd_files, envd_filesystem, envd_process):
        app.include_router(module.router)
    return app


class PortDispatch:
    """One server, two listening ports: connections to `e2b_port` go to the E2B app, all
    others (and the lifespan) to the main app."""

    def __init__(self, main: ASGIApp, e2b: ASGIApp, e2b_port: int) -> None:
        self.main = main
        self.e2b = e2b
        self.e2b_port = e2b_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        if scope["type"] != "lifespan" and server and server[1] == self.e2b_port:
            await self.e2b(scope, receive, send)
        else:
            await self.main(scope, receive, send)
