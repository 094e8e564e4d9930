"""`embedded_server(settings)`: the whole service on an ephemeral loopback port, served from
the caller's own event loop, for one-shot commands (`analyst chat`, `analyst demo`) that
want the real API without a server running somewhere.

The app's lifespan runs here rather than under uvicorn, so a failing start-up (a database
that will not open, a sandbox that will not start) raises its own exception to the caller.

The sandboxes start first, before the service's and the web framework's modules are imported
(a second or more on a small machine): the zygote imports its preload list in its own process
meanwhile, so the first cell of a one-shot command finds pandas loaded rather than waiting for
it after the server is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox_analyst.api.quiet_server import quiet_server
from sandbox_analyst.api.single_user import check_single_user
from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import provider_for

if TYPE_CHECKING:
    from fastapi import FastAPI

    from sandbox_analyst.sandbox import SandboxProvider
    from sandbox_analyst.service import Services

# Open streams (a turn the caller abandoned) get this long to finish once we stop.
GRACEFUL_SHUTDOWN_S = 5


@dataclass(frozen=True)
class EmbeddedServer:
    """Where the embedded server listens. `api_key` is None: it runs in single-user mode."""

    url: str
    api_key: str | None = None


def _embedded_settings(settings: Settings, host: str) -> Settings:
    server = settings.server.model_copy(update={"host": host, "port": 0, "single_user": True})
    return settings.model_copy(update={"server": server})


@contextlib.asynccontextmanager
async def embedded_server(
    settings: Settings, *, host: str = "127.0.0.1"
) -> AsyncIterator[EmbeddedServer]:
    """Run the service in single-user mode on `host` (a loopback address: anything else is
    refused) at a free port, in the current event loop; ready when this yields, stopped (its
    sandboxes ended) when the block exits."""
    effective = _embedded_settings(settings, host)
    check_single_user(effective)  # before any sandbox starts (`create_app` checks it too)
    effective.data_dir.mkdir(parents=True, exist_ok=True)
    app = await _app_with_started_sandboxes(effective)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), 0))
        port = sock.getsockname()[1]
        async with app.router.lifespan_context(app):
            server = quiet_server(app, graceful_shutdown_s=GRACEFUL_SHUTDOWN_S)
            task = asyncio.create_task(server.serve(sockets=[sock]))
            try:
                while not server.started:
                    if task.done():
                        task.result()
                        raise RuntimeError("the embedded server stopped while starting")
                    await asyncio.sleep(0.01)
                display_host = f"[{host.strip('[]')}]" if ":" in host else host
                yield EmbeddedServer(url=f"http://{display_host}:{port}")
            finally:
                server.should_exit = True
                await task


async def _app_with_started_sandboxes(settings: Settings) -> FastAPI:
    """The app, on a provider started before its modules were imported (the app owns it)."""
    provider = provider_for(settings)
    try:
        await provider.start()
        return _create_app(settings, provider)
    except BaseException:
        await provider.shutdown()
        raise


def _create_app(settings: Settings, provider: SandboxProvider) -> FastAPI:
    # Imported here, after the sandboxes started: see the module's docstring.
    from sandbox_analyst.api.app import create_app

    return create_app(settings, provider=provider, on_startup=[_start_sandboxes])


async def _start_sandboxes(services: Services) -> None:
    # The provider has started; this starts what the service keeps around it (the reaper
    # of idle sessions).
    await services.sandboxes.start()
