"""One client session on a registered MCP server, through the official SDK: `stdio_client`
(the command runs on this host, with only the SDK's safe default environment plus the
server's own `env`) or `streamable_http_client` (an httpx client carrying its headers),
driven by the SDK's `Client`. A session is opened for one operation (list the tools, or call
one) and closed right after it; every way that can fail ends in one `McpToolError` whose
message says what went wrong in plain words (command not found, the process exited and what
it printed on stderr, HTTP 401/404, a timeout), never quoting a header or an env value.

Why a session per operation rather than a pool: no server process or HTTP session outlives
the call that needed it, so a server that hangs, crashes or keeps state cannot leak into the
next call or another user's conversation; the SDK's transports hold anyio task groups that
must close in the task that opened them, which a pool shared across turns could not promise.
The cost is one start (or HTTP handshake) per call, small beside a model's turn."""

from __future__ import annotations

import base64
import binascii
import logging
import math
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TextIO

import anyio
import httpx2
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, ImageContent, TextContent, Tool

from sandbox_analyst.agent.tools import McpCallResult, McpImage, McpToolError
from sandbox_analyst.service.mcp_servers.endpoints import Endpoint, Limits, ListedTool

logger = logging.getLogger(__name__)

_STDERR_TAIL = 600  # characters of a failed process's stderr worth showing


class McpConnection:
    """Operations on one server; each opens its own session."""

    def __init__(self, endpoint: Endpoint, limits: Limits) -> None:
        self.endpoint = endpoint
        self.limits = limits

    async def list_tools(self) -> list[ListedTool]:
        async with self._session("list its tools", self.limits.connect_timeout_s) as client:
            listed = await _all_tools(client)
        return [
            ListedTool(tool.name, tool.description or "", dict(tool.input_schema or {}))
            for tool in listed
        ]

    async def call(self, tool: str, arguments: dict[str, Any]) -> McpCallResult:
        async with self._session(f"answer {tool}", self.limits.call_timeout_s) as client:
            result = await client.call_tool(tool, arguments)
        return self._converted(result)

    # -- sessions ---------------------------------------------------------------------------

    @asynccontextmanager
    async def _session(self, doing: str, timeout_s: float) -> AsyncIterator[Client]:
        """A connected, initialised `Client` for one operation that must end within
        `timeout_s` once connected (connecting has `connect_timeout_s`). One cancel scope
        holds both deadlines: the SDK's task groups open inside it, so it must enclose them
        whole. Errors that are not already an `McpToolError` are translated into one."""
        phase = "connect"
        refusals: list[int] = []  # HTTP error statuses seen (the SDK reports them vaguely)
        with (
            tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as stderr,
            anyio.CancelScope(
                deadline=anyio.current_time() + self.limits.connect_timeout_s
            ) as scope,
        ):
            try:
                async with self._client(stderr, refusals) as client:
                    scope.deadline = anyio.current_time() + timeout_s
                    phase = doing
                    yield client
                    # Done in time: closing (bounded by the SDK itself) must not turn the
                    # answer into a timeout.
                    scope.deadline = math.inf
            except McpToolError:
                raise
            except Exception as exc:  # the SDK raises what its transports raise
                if not scope.cancel_called:
                    raise self._translated(exc, doing, stderr, refusals) from None
        if scope.cancel_called:
            seconds = self.limits.connect_timeout_s if phase == "connect" else timeout_s
            raise self._timeout(phase, seconds)

    @asynccontextmanager
    async def _client(self, stderr: TextIO, refusals: list[int]) -> AsyncIterator[Client]:
        endpoint = self.endpoint
        if endpoint.transport == "stdio":
            parameters = StdioServerParameters(
                command=endpoint.command or "", args=list(endpoint.args), env=dict(endpoint.env)
            )
            async with Client(stdio_client(parameters, errlog=stderr)) as client:
                yield client
            return

        async def seen(response: httpx2.Response) -> None:
            if response.status_code >= 400:
                refusals.append(response.status_code)

        timeout = httpx2.Timeout(self.limits.connect_timeout_s, read=self.limits.call_timeout_s)
        hooks = {"response": [seen]}
        async with (
            httpx2.AsyncClient(
                headers=dict(endpoint.headers), timeout=timeout, event_hooks=hooks
            ) as http,
            Client(streamable_http_client(endpoint.url or "", http_client=http)) as client,
        ):
            yield client

    # -- errors -----------------------------------------------------------------------------

    def _timeout(self, doing: str, seconds: float) -> McpToolError:
        return McpToolError(
            "McpTimeout", f"the MCP server {self.endpoint.name!r} did not {doing} in {seconds:g} s"
        )

    def _translated(
        self, exc: BaseException, doing: str, stderr: TextIO, refusals: list[int]
    ) -> McpToolError:
        cause = _innermost(exc)
        name = self.endpoint.name
        if isinstance(cause, TimeoutError):
            return self._timeout("connect", self.limits.connect_timeout_s)
        if isinstance(cause, FileNotFoundError) and self.endpoint.transport == "stdio":
            command = self.endpoint.command
            return McpToolError(
                "McpServerUnavailable",
                f"the MCP server {name!r} could not start: command not found: {command}",
            )
        if isinstance(cause, PermissionError) and self.endpoint.transport == "stdio":
            return McpToolError(
                "McpServerUnavailable",
                f"the MCP server {name!r} could not start: {self.endpoint.command} is not "
                "executable",
            )
        if isinstance(cause, httpx2.HTTPStatusError):
            refusals.append(cause.response.status_code)
        if refusals and isinstance(cause, (httpx2.HTTPStatusError, MCPError)):
            status = refusals[0]
            hint = {
                401: " (unauthorized: check its headers, e.g. Authorization)",
                403: " (forbidden: check its headers)",
                404: " (not found: check its URL, e.g. .../mcp)",
            }.get(status, "")
            return McpToolError(
                "McpServerUnavailable",
                f"the MCP server {name!r} answered HTTP {status}{hint} when asked to {doing}",
            )
        if isinstance(cause, httpx2.TransportError):
            detail = self.endpoint.scrubbed(str(cause) or type(cause).__name__)
            return McpToolError(
                "McpServerUnavailable", f"the MCP server {name!r} cannot be reached: {detail}"
            )
        told = self._stderr_tail(stderr)
        if self.endpoint.transport == "stdio" and told and _is_closed(cause):
            return McpToolError(
                "McpServerUnavailable",
                f"the MCP server {name!r} stopped before it could {doing}; it wrote on "
                f"stderr: {told}",
            )
        if isinstance(cause, MCPError):
            message = self.endpoint.scrubbed(cause.error.message)
            if told:
                message = f"{message}; it wrote on stderr: {told}"
            return McpToolError("McpServerError", f"the MCP server {name!r}: {message}")
        detail = self.endpoint.scrubbed(str(cause) or type(cause).__name__)
        logger.warning(
            "MCP server %s failed to %s: %s: %s", name, doing, type(cause).__name__, detail
        )
        return McpToolError(
            "McpServerUnavailable", f"the MCP server {name!r} failed to {doing}: {detail}"
        )

    def _stderr_tail(self, stderr: TextIO) -> str:
        try:
            stderr.flush()
            stderr.seek(0)
            text = stderr.read().strip()
        except (OSError, ValueError):
            return ""
        return self.endpoint.scrubbed(text[-_STDERR_TAIL:])

    # -- results ----------------------------------------------------------------------------

    def _converted(self, result: CallToolResult) -> McpCallResult:
        texts: list[str] = []
        images: list[McpImage] = []
        omitted: list[str] = []
        for part in result.content:
            if isinstance(part, TextContent):
                texts.append(part.text)
            elif isinstance(part, ImageContent):
                image = self._image(part)
                if image is None:
                    omitted.append(f"an image ({part.mime_type}) that is too large or invalid")
                else:
                    images.append(image)
            else:
                omitted.append(f"a {part.type} part")
        if not texts and result.structured_content is not None:
            texts.append(str(result.structured_content))
        text = "\n".join(texts)
        limit = self.limits.max_result_chars
        if len(text) > limit:
            cut = len(text) - limit
            text = (
                f"{text[:limit]}\n[... {cut:,} more characters cut (mcp_client.max_result_chars)]"
            )
        return McpCallResult(text, images, bool(result.is_error), omitted)

    def _image(self, part: ImageContent) -> McpImage | None:
        if len(part.data) > self.limits.max_image_bytes * 4 // 3 + 4:
            return None
        try:
            data = base64.b64decode(part.data, validate=True)
        except (binascii.Error, ValueError):
            return None
        return McpImage(data, part.mime_type)


async def _all_tools(client: Client) -> list[Tool]:
    tools: list[Tool] = []
    cursor: str | None = None
    for _ in range(100):  # a server that pages without end is cut off
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _innermost(exc: BaseException) -> BaseException:
    """The first leaf of an exception group (the SDK's task groups wrap what failed)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _is_closed(exc: BaseException) -> bool:
    """Whether `exc` says the server's end went away (a process that exited)."""
    if isinstance(exc, MCPError):
        return "closed" in exc.error.message.lower()
    return isinstance(exc, (EOFError, BrokenPipeError, ConnectionError, anyio.EndOfStream))
