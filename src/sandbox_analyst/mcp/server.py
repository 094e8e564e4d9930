"""The MCP server: the tools an MCP client (Claude Desktop, Cursor, VS Code...) gets over our
sandboxes, on the official `mcp` SDK.

`create_mcp_server(open_sandboxes, owner_of)` builds it; `open_sandboxes` gives the
`McpSandboxes` for as long as the server runs (a local pool for `analyst mcp`, the API
server's sessions when mounted), `owner_of` says which user a request is for.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from sandbox_analyst.mcp.content import execution_result, file_content, listing_text
from sandbox_analyst.mcp.sessions import Client, McpSandboxes, SessionEnded, SessionNotFound
from sandbox_analyst.sandbox import SandboxError

DEFAULT_SCOPE = "default"
MAX_DOWNLOAD_BYTES = 10 * 1024 * 1024
"""The largest file `download_file` returns: a tool result travels whole, in one message."""

INSTRUCTIONS = """\
A stateful, isolated Python sandbox (pandas, numpy, matplotlib, scipy, scikit-learn...),
with no network. Variables, imports and files persist between execute_code calls; figures
come back as images. Put data in with upload_file, read it by name in code; list_files and
download_file get files out. new_session starts over with a fresh sandbox."""

SessionArg = Annotated[
    str | None,
    Field(description="A session_id from new_session; default: this client's current sandbox."),
]
OwnerOf = Callable[[Context], str]
_CLIENT_STATE = "sandbox_analyst.client"


def create_mcp_server(
    open_sandboxes: Callable[[], AbstractAsyncContextManager[McpSandboxes]],
    owner_of: OwnerOf,
    *,
    code_timeout: float | None = None,
    max_upload_bytes: int = 200 * 1024 * 1024,
) -> MCPServer[McpSandboxes]:
    """`code_timeout`: seconds one execution may run unless the call says otherwise (None:
    the backend's default)."""

    @asynccontextmanager
    async def lifespan(_server: MCPServer[McpSandboxes]) -> AsyncIterator[McpSandboxes]:
        async with open_sandboxes() as sandboxes:
            yield sandboxes

    server: MCPServer[McpSandboxes] = MCPServer(
        "sandbox-analyst", instructions=INSTRUCTIONS, lifespan=lifespan
    )

    @server.tool(annotations=ToolAnnotations(open_world_hint=False))
    async def execute_code(
        code: Annotated[str, Field(description="The code to run.")],
        ctx: Context,
        language: Annotated[
            Literal["python", "bash", "sql", "r"],
            Field(
                description="python: in the session's interpreter; bash: a shell command; "
                "sql: DuckDB over the working directory's files (the result as a table, and "
                "as the DataFrame `_sql` in Python); r: R, its state kept between calls (where "
                "the server has R)."
            ),
        ] = "python",
        timeout: Annotated[
            float | None, Field(gt=0, description="Seconds the code may run.")
        ] = None,
        session_id: SessionArg = None,
    ) -> CallToolResult:
        """Run Python (state kept between calls: variables, imports, files), a bash command,
        SQL (DuckDB) or R in the sandbox's working directory. Returns stdout, stderr, the value
        of the last expression, figures as images, and the error if the code failed."""
        sandboxes, client = _caller(ctx, owner_of)
        async with _using(sandboxes, client, session_id) as in_use:
            execution = await in_use.sandbox.run_code(
                code, language=language, timeout=timeout or code_timeout
            )
        return execution_result(execution, note=in_use.note)

    @server.tool(annotations=ToolAnnotations(open_world_hint=False))
    async def upload_file(
        name: Annotated[str, Field(description="Path in the working directory, e.g. data.csv.")],
        content_base64: Annotated[str, Field(description="The file's bytes, base64-encoded.")],
        ctx: Context,
        session_id: SessionArg = None,
    ) -> str:
        """Write a file into the sandbox's working directory, where code reads it by name."""
        try:
            data = base64.b64decode(content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ToolError(f"content_base64 is not valid base64: {exc}") from exc
        if len(data) > max_upload_bytes:
            raise ToolError(
                f"{name} is {len(data):,} bytes, over the {max_upload_bytes:,}-byte upload limit"
            )
        sandboxes, client = _caller(ctx, owner_of)
        async with _using(sandboxes, client, session_id) as in_use:
            entry = await in_use.sandbox.files.write(name, data)
        return _with_note(in_use.note, f"Wrote {entry.path} ({entry.size:,} bytes).")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    async def list_files(
        ctx: Context,
        path: Annotated[str, Field(description="A directory in the working directory.")] = ".",
        session_id: SessionArg = None,
    ) -> str:
        """List the files in the sandbox's working directory (recursively), with sizes."""
        sandboxes, client = _caller(ctx, owner_of)
        async with _using(sandboxes, client, session_id) as in_use:
            listing = await in_use.sandbox.files.walk(path, max_entries=1000)
        return _with_note(in_use.note, listing_text(listing))

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    async def download_file(
        name: Annotated[str, Field(description="Path in the working directory.")],
        ctx: Context,
        session_id: SessionArg = None,
    ) -> CallToolResult:
        """Read a file from the sandbox: an image comes back as an image, text as a text
        resource, anything else as a base64 blob resource."""
        sandboxes, client = _caller(ctx, owner_of)
        async with _using(sandboxes, client, session_id) as in_use:
            files = in_use.sandbox.files
            entries = await files.list(_parent(name))
            entry = next((e for e in entries if e.path == name.strip("/")), None)
            if entry is not None and entry.size > MAX_DOWNLOAD_BYTES:
                raise ToolError(
                    f"{name} is {entry.size:,} bytes, over the {MAX_DOWNLOAD_BYTES:,} bytes a "
                    "tool result carries; make it smaller in code (compress, sample, split)"
                )
            data = await files.read_bytes(name)
        content: list[Any] = file_content(in_use.session_id, name, data)
        if in_use.note:
            content.insert(0, TextContent(text=in_use.note))
        return CallToolResult(content=content)

    @server.tool(annotations=ToolAnnotations(destructive_hint=True, open_world_hint=False))
    async def new_session(ctx: Context) -> str:
        """Start over: a fresh sandbox (no variables, no files) becomes this client's current
        one and the previous one ends. Returns its session_id, which any call may pass to
        reach this sandbox explicitly (clients without a lasting connection need it)."""
        sandboxes, client = _caller(ctx, owner_of)
        try:
            session_id = await sandboxes.new(client)
        except SandboxError as exc:
            raise ToolError(str(exc)) from exc
        return f"Started a fresh sandbox; session_id: {session_id}"

    return server


def _caller(ctx: Context, owner_of: OwnerOf) -> tuple[McpSandboxes, Client]:
    """The sandboxes and the calling client. A client with a connection of its own (an HTTP
    session of the 2025 handshake) has its sandbox ended when that connection closes. Where
    the transport has none (stdio: the process is the client; 2026-07-28 HTTP: nothing tells
    callers apart), the client is its user's default one."""
    sandboxes: McpSandboxes = ctx.request_context.lifespan_context
    owner = owner_of(ctx)
    # mcp 2.3 hands tool handlers no public view of their connection (its `Context` has
    # none); the request's session holds it.
    connection = ctx.request_context.session._connection
    if connection.session_id is None:
        return sandboxes, Client(owner=owner, scope=DEFAULT_SCOPE)
    client = Client(owner=owner, scope="http:" + connection.session_id)
    if connection.state.setdefault(_CLIENT_STATE, client) is client:  # its first call
        connection.exit_stack.push_async_callback(sandboxes.end_client, client)
    elif connection.state[_CLIENT_STATE] != client:
        raise ToolError("this MCP session belongs to another user")
    return sandboxes, client


@asynccontextmanager
async def _using(sandboxes: McpSandboxes, client: Client, session_id: str | None):
    """The call's sandbox, every failure of the sandbox a tool error (`isError`) that says
    what happened."""
    try:
        async with sandboxes.use(client, session_id) as in_use:
            yield in_use
    except (SessionNotFound, SessionEnded) as exc:
        raise ToolError(str(exc)) from exc
    except SandboxError as exc:  # could not start one, the caps, a lost session...
        raise ToolError(str(exc)) from exc


def _with_note(note: str | None, text: str) -> str:
    return f"{note}\n{text}" if note else text


def _parent(path: str) -> str:
    head, _, _ = path.strip("/").rpartition("/")
    return head or "."
