"""`analyst serve [--host --port --single-user]`: the HTTP server."""

from __future__ import annotations

import asyncio
import socket
from typing import Annotated

import typer
import uvicorn
from sqlalchemy.engine import make_url

from sandbox_analyst.api import SingleUserRefused, check_single_user, create_app
from sandbox_analyst.api.e2b import PortDispatch, create_e2b_app
from sandbox_analyst.api.http_protocol import header_deadline_protocol
from sandbox_analyst.cli.app import app, err_console, settings
from sandbox_analyst.cli.exit_codes import ExitCode
from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import BackendUnavailableError, backend_factory
from sandbox_analyst.service import Services


@app.command("serve")
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default from settings).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    single_user: Annotated[
        bool | None,
        typer.Option(
            "--single-user/--multi-user",
            help="No authentication, acting as a local admin (loopback addresses only).",
        ),
    ] = None,
) -> None:
    """Run the API server."""
    effective = settings()
    updates = {"host": host, "port": port, "single_user": single_user}
    effective.server = effective.server.model_copy(
        update={k: v for k, v in updates.items() if v is not None}
    )
    try:
        check_single_user(effective)
        backend_factory(effective.sandbox.backend)
    except (SingleUserRefused, BackendUnavailableError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(ExitCode.USAGE) from exc

    effective.data_dir.mkdir(parents=True, exist_ok=True)
    # soft_wrap: paths and URLs stay on one line, whole, to copy.
    err_console.print(f"data directory: {effective.data_dir}", highlight=False, soft_wrap=True)
    err_console.print(f"database: {_database(effective)}", highlight=False, soft_wrap=True)
    if not effective.server.single_user and asyncio.run(_user_count(effective)) == 0:
        err_console.print(
            "No users yet. Create an admin and their API key with:\n"
            "    analyst users create NAME --admin\n"
            "or, for local use only, start with --single-user."
        )
    server = effective.server
    err_console.print(
        f"Sandbox Analyst on {_browsable_url(server.host, server.port)} "
        "(web UI there; API docs at /docs; OpenAI-compatible API at /v1)",
        highlight=False,
        soft_wrap=True,
    )
    app = create_app(effective, on_startup=[_start_sandboxes])
    # h11 with a deadline on request headers: slow clients cannot hold connections.
    protocol = header_deadline_protocol(server.header_timeout_s)
    log_level = effective.log_level.lower()
    if server.e2b_port is None:
        uvicorn.run(app, host=server.host, port=server.port, log_level=log_level, http=protocol)
        return
    # One server listening on both ports; each connection goes to the app of its port.
    sockets = [_bind(server.host, server.port), _bind(server.host, server.e2b_port)]
    e2b_port = sockets[1].getsockname()[1]
    err_console.print(
        f"E2B-compatible API on {_browsable_url(server.host, e2b_port)} (set E2B_API_URL and "
        "E2B_SANDBOX_URL to it, E2B_API_KEY to one of this server's API keys)",
        highlight=False,
        soft_wrap=True,
    )
    config = uvicorn.Config(
        PortDispatch(app, create_e2b_app(app), e2b_port), log_level=log_level, http=protocol
    )
    uvicorn.Server(config).run(sockets=sockets)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    # IPPROTO_TCP named explicitly: asyncio sets TCP_NODELAY only on sockets that say so,
    # and without it every streamed line waits out the client's delayed ACK (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        err_console.print(f"[red]error:[/red] cannot listen on {host}:{port}: {exc.strerror}")
        raise typer.Exit(1) from exc
    sock.set_inheritable(True)
    return sock


def _database(effective: Settings) -> str:
    if effective.database_url is None:
        return f"SQLite, {effective.data_dir / 'analyst.db'}"
    return make_url(effective.database_url).render_as_string(hide_password=True)


def _browsable_url(host: str, port: int) -> str:
    # Bound to every address: the URL to open is the loopback one (others work too).
    if host in ("0.0.0.0", "::", "[::]", ""):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


async def _start_sandboxes(services: Services) -> None:
    # A server is started to be used: pay the zygote's start-up now, not in the first turn.
    await services.sandboxes.start()


async def _user_count(effective: Settings) -> int:
    async with Services.running(effective) as services:
        return await services.users.count_users()
