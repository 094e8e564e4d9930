"""`analyst mcp [--http --host --port]`: an MCP server over local sandboxes, for Claude
Desktop, Cursor, VS Code and any other MCP client (docs/mcp.md)."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Annotated

import typer

from sandbox_analyst.cli.app import app, err_console, settings


@app.command("mcp")
def mcp(
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP at /mcp instead of stdio.")
    ] = False,
    host: Annotated[str, typer.Option(help="Address to bind with --http.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port with --http.")] = 8765,
) -> None:
    """Serve the MCP tools execute_code, upload_file, list_files, download_file and
    new_session over isolated sandboxes: on stdio (what an MCP client starts), or with
    --http at http://HOST:PORT/mcp. Each client gets a sandbox of its own, kept between
    calls and ended when it disconnects.
    """
    from sandbox_analyst.mcp import serve_http, serve_stdio

    config = settings()
    # stdout is the protocol's on stdio: every log line goes to stderr.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        if http:
            err_console.print(f"MCP (streamable HTTP) on http://{host}:{port}/mcp")
            asyncio.run(serve_http(config, host, port))
        else:
            asyncio.run(serve_stdio(config))
    except KeyboardInterrupt:
        pass
