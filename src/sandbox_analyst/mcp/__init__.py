"""An MCP server over our sandboxes (`analyst mcp`; docs/mcp.md): tools to run Python and
bash, move files in and out, and start over, for any MCP client.

`server` (the tools, on the `mcp` SDK), `sessions` (which sandbox a call runs in), `content`
(sandbox output as MCP content), `serve` (stdio and streamable HTTP over a local pool).
"""

from sandbox_analyst.mcp.serve import local_server, serve_http, serve_stdio
from sandbox_analyst.mcp.server import create_mcp_server
from sandbox_analyst.mcp.sessions import Client, McpSandboxes, SessionEnded, SessionNotFound

__all__ = [
    "Client",
    "McpSandboxes",
    "SessionEnded",
    "SessionNotFound",
    "create_mcp_server",
    "local_server",
    "serve_http",
    "serve_stdio",
]
