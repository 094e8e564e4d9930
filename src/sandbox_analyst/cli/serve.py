"""`analyst serve [--host --port --single-user]`: the HTTP server.

It binds its port and accepts requests at once; the sandboxes start, then the app (the web
framework, the ORM, the LLM SDKs, the database migration) is built in the background while the
zygote preloads, and requests wait for it (`api.starting.StartingApp`); the sandbox pool then
warms up behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import socket
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn
from rich.markup import escape

from sandbox_analyst.api.http_protocol import header_deadline_protocol
from sandbox_analyst.api.single_user import SingleUserRefused, check_single_user
from sandbox_analyst.api.starting import ASGIApp, StartingApp
from sandbox_analyst.cli.app import app, err_console, settings
from sandbox_analyst.cli.exit_codes import ExitCode
from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import BackendUnavailableError, backend_factory, provider_for
from sandbox_analyst.telemetry.logs import configure_logging

if TYPE_CHECKING:
    from sandbox_analyst.service import Services

log = logging.getLogger(__name__)


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
        raise typer.Exit(2) from exc

    effective.data_dir.mkdir(parents=True, exist_ok=True)
    # soft_wrap: paths and URLs stay on one line, whole, to copy.
    err_console.print(f"data directory: {effective.data_dir}", highlight=False, soft_wrap=True)
    err_console.print(f"database: {_database(effective)}", highlight=False, soft_wrap=True)
    if effective.storage.blobs != "local":
        # A remote store is checked before listening: a server without it would fail every
        # upload. (The local directory is checked when the app starts.)
        err_console.print(f"blob storage: {_checked_blob_storage(effective)}", soft_wrap=True)
    server = effective.server
    err_console.print(
        f"Sandbox Analyst on {_browsable_url(server.host, server.port)} "
        "(web UI there; API docs at /docs; OpenAI-compatible API at /v1)",
        highlight=False,
        soft_wrap=True,
    )
    # h11 with a deadline on request headers: slow clients cannot hold connections.
    protocol = header_deadline_protocol(server.header_timeout_s)
    log_level = effective.log_level.lower()
    # One handler for every logger, uvicorn's included (log_config=None: uvicorn leaves it);
    # requests are logged by the app, by route template (uvicorn's line has the query string).
    configure_logging(effective.logging.format, effective.log_level)
    quiet = {"log_config": None, "access_log": False}
    if server.e2b_port is None:
        starting = StartingApp(lambda: _build(effective, None))
        uvicorn.run(
            starting,
            host=server.host,
            port=server.port,
            log_level=log_level,
            http=protocol,
            **quiet,
        )
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
    starting = StartingApp(lambda: _build(effective, e2b_port))
    config = uvicorn.Config(starting, log_level=log_level, http=protocol, **quiet)
    uvicorn.Server(config).run(sockets=sockets)


async def _build(effective: Settings, e2b_port: int | None) -> ASGIApp:
    """The real app, on sandboxes started first: the zygote imports its preload list while
    the app's modules are imported, in a thread (the event loop accepts requests meanwhile).
    The sandboxes start before that thread, not beside it: their isolation probes fork."""
    # Its modules imported in the thread too: the loop goes on to listen meanwhile.
    provider = await asyncio.to_thread(provider_for, effective)
    try:
        with contextlib.suppress(Exception):  # reported by `_start_sandboxes`, once the app is up
            await provider.start()
        await asyncio.to_thread(importlib.import_module, "sandbox_analyst.api.app")
        if e2b_port is not None:
            await asyncio.to_thread(importlib.import_module, "sandbox_analyst.api.e2b")
        from sandbox_analyst.api import create_app

        hooks = [_start_sandboxes] if effective.server.single_user else [_hint, _start_sandboxes]
        application = create_app(effective, provider=provider, on_startup=hooks)
    except BaseException:
        await provider.shutdown()
        raise
    if e2b_port is None:
        return application
    from sandbox_analyst.api.e2b import PortDispatch, create_e2b_app

    return PortDispatch(application, create_e2b_app(application), e2b_port)


async def _hint(services: Services) -> None:
    if await services.users.count_users() == 0:
        err_console.print(
            "No users yet. Create an admin and their API key with:\n"
            "    analyst users create NAME --admin\n"
            "or, for local use only, start with --single-user."
        )


def _checked_blob_storage(effective: Settings) -> str:
    """Where uploads and artifacts go, once the store has answered; exits saying why when it
    cannot be used."""
    from sandbox_analyst.store import BlobStoreUnavailable, create_blob_store

    async def check() -> str:
        store = create_blob_store(effective.storage, effective.data_dir)
        try:
            await store.check()
            return store.describe()
        finally:
            await store.close()

    try:
        return asyncio.run(check())
    except BlobStoreUnavailable as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(ExitCode.FAILED) from exc


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
    from sqlalchemy.engine import make_url  # only for a URL that may hold a password

    return make_url(effective.database_url).render_as_string(hide_password=True)


def _browsable_url(host: str, port: int) -> str:
    # Bound to every address: the URL to open is the loopback one (others work too).
    if host in ("0.0.0.0", "::", "[::]", ""):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


async def _start_sandboxes(services: Services) -> None:
    # The provider started before the app was built (its pool warms up in the background: a
    # turn that comes first waits only for its own worker, forked before the pool is full);
    # this starts the reaper of idle sessions, or says why the sandboxes could not start.
    task = asyncio.get_running_loop().create_task(services.sandboxes.start())
    _background.add(task)
    task.add_done_callback(_started)


_background: set[asyncio.Task[None]] = set()


def _started(task: asyncio.Task[None]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        # The first session will try again and report the error to its caller.
        log.error("the sandboxes could not start: %s", task.exception())
