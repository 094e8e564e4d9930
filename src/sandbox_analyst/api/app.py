"""The FastAPI application factory.

`create_app(settings)` builds every service once (`Services`, kept on `app.state.services`);
in the lifespan it checks the blob store (refusing to start without it) and migrates and opens
the database; it installs the routers and the error mapping. Others extend it with
`extra_routers=` and with start-up/shutdown hooks (`on_startup=` / `on_shutdown=`: async
callables taking the `Services`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import APIRouter, FastAPI

from sandbox_analyst.api import jupyter, librechat, metrics, openai_compat
from sandbox_analyst.api.body_limit import BodyLimitMiddleware
from sandbox_analyst.api.errors import ErrorBody, install_error_handlers
from sandbox_analyst.api.mcp_endpoint import mount_mcp
from sandbox_analyst.api.metrics import live_state
from sandbox_analyst.api.request_telemetry import RequestTelemetryMiddleware
from sandbox_analyst.api.routers import ROUTERS
from sandbox_analyst.api.single_user import SingleUserRefused, check_single_user, is_loopback
from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SandboxProvider, SessionManager
from sandbox_analyst.service import Services
from sandbox_analyst.store import BlobStore
from sandbox_analyst.telemetry import prometheus
from sandbox_analyst.web import mount_ui

Hook = Callable[[Services], Awaitable[None]]

__all__ = ["Hook", "SingleUserRefused", "check_single_user", "create_app", "is_loopback"]


def create_app(
    settings: Settings,
    *,
    blobs: BlobStore | None = None,
    sessions: SessionManager | None = None,
    provider: SandboxProvider | None = None,
    extra_routers: Sequence[APIRouter] = (),
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
) -> FastAPI:
    check_single_user(settings)
    services = Services.from_settings(settings, blobs=blobs, sessions=sessions, provider=provider)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Refuse to start, saying why, rather than answer every upload with an error.
        try:
            await services.blobs.check()
        except BaseException:
            if services.owns_blobs:
                await services.blobs.close()
            raise
        await services.start()
        try:
            services.audit.start()  # a server's housekeeping: not the CLI's one-off commands
            if settings.server.single_user:
                app.state.local_principal = await services.users.ensure_local_admin()
            for hook in on_startup:
                await hook(services)
            async with mcp.running():
                yield
        finally:
            for hook in reversed(on_shutdown):
                await hook(services)
            await services.stop()

    app = FastAPI(
        title="Sandbox Analyst",
        version=version("sandbox-analyst"),
        description="Ask questions about your data; an LLM answers with code that runs.",
        lifespan=lifespan,
        responses={
            401: {"model": ErrorBody, "description": "Missing, invalid or revoked API key."},
            404: {"model": ErrorBody, "description": "No such object (or not yours)."},
            413: {"model": ErrorBody, "description": "The request body is over its limit."},
            422: {"model": ErrorBody, "description": "A field is invalid."},
        },
    )
    app.state.services = services
    app.state.settings = settings
    app.state.local_principal = None
    prometheus.install()
    app.state.metrics_registry = prometheus.app_registry(live_state(services))
    install_error_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware,
        json_bytes=settings.server.max_json_kb * 1024,
        inline_files_bytes=settings.openai_compat.max_request_mb * 1024 * 1024,
    )
    # Outermost: it sees every request's final status, a 413 from the body limit included.
    app.add_middleware(RequestTelemetryMiddleware)
    for router in (*ROUTERS, metrics.router, openai_compat.router, jupyter.router, *extra_routers):
        app.include_router(router)
    app.mount(librechat.MOUNT_PATH, librechat.create_librechat_app(app))
    mcp = mount_mcp(app, services)
    mount_ui(app)
    return app
