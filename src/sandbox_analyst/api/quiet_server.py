"""`quiet_server(app)`: uvicorn for a server embedded in a command (`embedded_server`).

uvicorn is imported on the first call, not with this module: the embedded server starts its
sandboxes before it imports the web stack (see `api.embedded`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI


def quiet_server(app: FastAPI, *, graceful_shutdown_s: float) -> uvicorn.Server:
    """A uvicorn server for `app` (whose lifespan the caller runs) that leaves the signal
    handlers to the program embedding it: Ctrl-C belongs to the command (to cancel a turn),
    not to the server."""
    import uvicorn

    class QuietServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    config = uvicorn.Config(
        app, lifespan="off", log_level="warning", timeout_graceful_shutdown=graceful_shutdown_s
    )
    return QuietServer(config)
