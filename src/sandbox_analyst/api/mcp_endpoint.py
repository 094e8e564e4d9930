"""The MCP server (`sandbox_analyst.mcp`, the tools of `analyst mcp`) mounted on the main
server at `/mcp`, streamable HTTP, for the users of this server: each request carries one of
their API keys (`Authorization: Bearer KEY`; none needed in single-user mode on loopback), and
the sandboxes are the server's own sessions, counted against that user's caps. docs/mcp.md.

The MCP SDK is imported, and its transport started, on the first request to `/mcp`: a
server whose users never use MCP does not pay for it at start-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox_analyst.api.body_limit import BodyKind, body_kind
from sandbox_analyst.api.errors import error_response
from sandbox_analyst.service import Principal, Services, Unauthorized, public_error

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context

PATH = "/mcp"
_USER_STATE = "analyst_mcp_user"


class McpEndpoint:
    """The ASGI endpoint of `/mcp`: authenticates, then hands the request to the MCP SDK's
    streamable HTTP transport. Enter `running()` for as long as the app runs: leaving it stops
    the transport (and so ends the MCP clients' sandboxes)."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._app: ASGIApp | None = None
        self._starting = asyncio.Lock()
        self._stop = asyncio.Event()
        self._transport: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            self._stop.set()
            if self._transport is not None:
                await self._transport

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            principal = await self._principal(scope)
        except Unauthorized as exc:
            error = public_error(exc)
            assert error is not None
            response = error_response(error.http_status, error.code, error.message)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[_USER_STATE] = principal.user_id
        app = await self._started()
        await app(scope, receive, send)

    async def _principal(self, scope: Scope) -> Principal:
        headers = dict(scope.get("headers") or [])
        scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and key.strip():
            return await self._services.users.authenticate(key.strip())
        local: Principal | None = getattr(scope["app"].state, "local_principal", None)
        if local is None:
            raise Unauthorized("authentication required: send `Authorization: Bearer <API key>`")
        return local

    async def _started(self) -> ASGIApp:
        async with self._starting:
            if self._app is None:
                app = self._build()
                started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                # A task of its own: the transport's anyio task group must end in the task
                # that began it, not in whichever request happened to start it.
                self._transport = asyncio.create_task(self._run(app, started), name="mcp")
                await asyncio.wait({self._transport, started}, return_when="FIRST_COMPLETED")
                if self._transport.done():
                    self._transport.result()  # it failed to start: say why
                self._app = app
        return self._app

    async def _run(self, app: Any, started: asyncio.Future[None]) -> None:
        async with app.router.lifespan_context(app):
            started.set_result(None)
            await self._stop.wait()

    def _build(self) -> Any:
        from sandbox_analyst.mcp import McpSandboxes, create_mcp_server

        services = self._services
        settings = services.settings

        @asynccontextmanager
        async def open_sandboxes() -> AsyncIterator[McpSandboxes]:
            yield McpSandboxes(services.sandboxes.sessions)

        server = create_mcp_server(
            open_sandboxes,
            _owner,
            code_timeout=settings.sandbox.timeout,
            max_upload_bytes=settings.server.max_upload_mb * 1024 * 1024,
        )
        # On a loopback host the SDK also checks Host and Origin (DNS rebinding).
        return server.streamable_http_app(streamable_http_path=PATH, host=settings.server.host)


def mount_mcp(app: FastAPI, services: Services) -> McpEndpoint:
    """Serve MCP at `/mcp` on `app`. Its requests carry tool arguments inline (base64
    uploads): they get the inline-files body limit (`openai_compat.max_request_mb`)."""
    endpoint = McpEndpoint(services)
    body_kind(BodyKind.INLINE_FILES)(endpoint)
    app.router.routes.append(Route(PATH, endpoint=endpoint, methods=["GET", "POST", "DELETE"]))
    return endpoint


def _owner(ctx: Context) -> str:
    return ctx.request_context.request.scope["state"][_USER_STATE]
