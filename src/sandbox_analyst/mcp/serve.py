"""`analyst mcp`: the MCP server on its own, over a local sandbox pool built from the
effective settings (the same backend, limits and isolation as `analyst serve`), on stdio or
streamable HTTP. It runs for one local user: every sandbox counts against the owner "mcp"."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from mcp.server.mcpserver import Context, MCPServer

from sandbox_analyst.config import Settings
from sandbox_analyst.mcp.server import create_mcp_server
from sandbox_analyst.mcp.sessions import McpSandboxes
from sandbox_analyst.sandbox import SessionManager, create_provider

LOCAL_OWNER = "mcp"
log = logging.getLogger(__name__)


def local_server(settings: Settings) -> MCPServer[McpSandboxes]:
    """The MCP server of `analyst mcp`: its sandboxes start with it and end with it."""

    @asynccontextmanager
    async def open_sandboxes() -> AsyncIterator[McpSandboxes]:
        provider = create_provider(
            settings.sandbox,
            settings.data_dir / "sandboxes",
            hidden_paths=(str(settings.data_dir),),
        )
        sessions = SessionManager.from_settings(provider, settings.sandbox)
        # Started here, inside the transport: on stdio the zygote and its workers then
        # inherit a stdout that is not the protocol's.
        await sessions.start()
        try:
            yield McpSandboxes(sessions)
        finally:
            await sessions.shutdown()

    return create_mcp_server(
        open_sandboxes,
        _local_owner,
        code_timeout=settings.sandbox.timeout,
        max_upload_bytes=settings.server.max_upload_mb * 1024 * 1024,
    )


def _local_owner(_ctx: Context) -> str:
    return LOCAL_OWNER


async def serve_stdio(settings: Settings) -> None:
    await local_server(settings).run_stdio_async()


async def serve_http(settings: Settings, host: str, port: int) -> None:
    """Streamable HTTP at http://HOST:PORT/mcp, until interrupted."""
    app = local_server(settings).streamable_http_app(host=host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve()
