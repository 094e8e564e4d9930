"""The MCP server under test, driven by the `mcp` SDK's own client: over streamable HTTP
(a real uvicorn server on 127.0.0.1, the shared local sandboxes behind it) and over stdio (a
real `analyst mcp` process). Tests run on the session's event loop, beside the shared
sandboxes: `pytestmark = pytest.mark.asyncio(loop_scope="session")`."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest_asyncio
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, ImageContent, TextContent

from sandbox_analyst.mcp import McpSandboxes, create_mcp_server
from sandbox_analyst.sandbox import SessionManager
from tests.conftest import uvicorn_on_loopback

OWNER = "mcp-test-user"


@pytest_asyncio.fixture(loop_scope="session")
async def mcp_sandboxes(sandbox_sessions: SessionManager) -> AsyncIterator[McpSandboxes]:
    yield McpSandboxes(sandbox_sessions)


@pytest_asyncio.fixture(loop_scope="session")
async def mcp_url(mcp_sandboxes: McpSandboxes) -> AsyncIterator[str]:
    """The MCP endpoint of a streamable HTTP server whose tools run in the shared sandboxes."""
    async with serving_mcp(mcp_sandboxes, code_timeout=30) as url:
        yield url


@asynccontextmanager
async def serving_mcp(
    sandboxes: McpSandboxes, owner: str = OWNER, **options: Any
) -> AsyncIterator[str]:
    """`create_mcp_server(...)` under uvicorn on 127.0.0.1; yields its MCP endpoint. The app
    runs in a task of its own: its lifespan holds an anyio task group, which must end in the
    task that began it (a fixture's teardown may run in another)."""

    @asynccontextmanager
    async def open_sandboxes() -> AsyncIterator[McpSandboxes]:
        yield sandboxes

    app = create_mcp_server(open_sandboxes, lambda _ctx: owner, **options).streamable_http_app()
    url: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def serve() -> None:
        async with app.router.lifespan_context(app), uvicorn_on_loopback(app) as base:
            url.set_result(f"{base}/mcp")
            await stop.wait()

    task = asyncio.create_task(serve())
    try:
        yield await url
    finally:
        stop.set()
        await task


def http_client(url: str, mode: str = "legacy") -> Client:
    return Client(streamable_http_client(url), mode=mode)


def text_of(result: CallToolResult) -> str:
    return "\n".join(part.text for part in result.content if isinstance(part, TextContent))


def images_of(result: CallToolResult) -> list[bytes]:
    return [base64.b64decode(p.data) for p in result.content if isinstance(p, ImageContent)]


async def run(client: Client, code: str, **arguments: object) -> CallToolResult:
    return await client.call_tool("execute_code", {"code": code, **arguments})
