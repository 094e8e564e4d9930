"""`embedded_server(settings)`: the whole service on an ephemeral loopback port, served from
the caller's own event loop, for one-shot commands (`analyst chat`, `analyst demo`) that
want the real API without a server running somewhere.

The app's lifespan runs here rather than under uvicorn, so a failing start-up (a database
that will not open, a sandbox that will not start) raises its own exception to the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import uvicorn

from sandbox_analyst.api.app import create_app
from sandbox_analyst.config import Settings
from sandbox_analyst.service import Services

# Open streams (a turn the caller abandoned) get this long to finish once we stop.
GRACEFUL_SHUTDOWN_S = 5


@dataclass(frozen=True)
class EmbeddedServer:
    """Where the embedded server listens. `api_key` is None: it runs in single-user mode."""

    url: str
    api_key: str | None = None


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves the signal handlers to the program embedding it: Ctrl-C
    belongs to the command (to cancel a turn), not to the server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _start_sandboxes(services: Services) -> None:
    # Pay the sandbox pool's start-up before the first question, not during it.
    await services.sandboxes.start()


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
    effective.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(effective, on_startup=[_start_sandboxes])
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), 0))
        port = sock.getsockname()[1]
        async with app.router.lifespan_context(app):
            config = uvicorn.Config(
                app,
                lifespan="off",
                log_level="warning",
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            )
            server = _QuietServer(config)
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
