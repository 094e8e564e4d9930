"""`analyst serve [--host --port --single-user]`: the HTTP server."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
import uvicorn
from sqlalchemy.engine import make_url

from sandbox_analyst.api import SingleUserRefused, check_single_user, create_app
from sandbox_analyst.cli.app import app, err_console, settings
from sandbox_analyst.cli.exit_codes import ExitCode
from sandbox_analyst.config import Settings
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
    except SingleUserRefused as exc:
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
    uvicorn.run(
        create_app(effective, on_startup=[_start_sandboxes]),
        host=server.host,
        port=server.port,
        log_level=effective.log_level.lower(),
    )


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
