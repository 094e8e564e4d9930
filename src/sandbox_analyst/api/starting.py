"""`StartingApp`: an ASGI app that accepts requests at once, while the real one is built.

`analyst serve` binds its port within a fraction of a second; importing the web framework, the
ORM and the LLM SDKs, migrating the database and the app's own start-up take seconds more on a
small machine. Meanwhile every request is accepted and waits for the app; once it is up, each
is handed to it unchanged. If building or starting the app fails, waiting requests and later
ones get 503 with the reason, and the process keeps running so that the reason is seen (it is
also logged).

Lifespan: uvicorn's startup completes at once (the build starts then); the built app's own
lifespan is driven through the ASGI lifespan protocol, so its startup runs once it is built
and its shutdown when the server stops (after a build still under way).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)


class AppStartError(RuntimeError):
    """The real app could not be built or its startup failed."""


class StartingApp:
    def __init__(self, build: Callable[[], Awaitable[ASGIApp]]) -> None:
        """`build` imports and creates the real app; it runs in the server's event loop once
        the server has started (heavy imports belong in a thread: `asyncio.to_thread`)."""
        self._build = build
        self._app: ASGIApp | None = None
        self._error: str | None = None
        self._ready = asyncio.Event()
        self._starting: asyncio.Task[None] | None = None
        self._lifespan: _Lifespan | None = None

    @property
    def app(self) -> ASGIApp | None:
        """The real app once it has started."""
        return self._app

    async def wait_started(self) -> ASGIApp:
        """The real app, once built and started; `AppStartError` if that failed."""
        await self._ready.wait()
        if self._app is None:
            raise AppStartError(self._error or "the server did not start")
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._serve_lifespan(scope, receive, send)
            return
        try:
            app = await self.wait_started()
        except AppStartError as exc:
            await _unavailable(scope, send, str(exc))
            return
        await app(scope, receive, send)

    async def _serve_lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._starting = asyncio.get_running_loop().create_task(self._start(scope))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _start(self, scope: Scope) -> None:
        try:
            app = await self._build()
            lifespan = _Lifespan(app, scope)
            self._lifespan = lifespan
            await lifespan.startup()
            self._app = app
        except Exception as exc:
            self._error = f"the server failed to start: {type(exc).__name__}: {exc}"
            log.exception("the server failed to start")
        finally:
            self._ready.set()

    async def _stop(self) -> None:
        if self._starting is not None:
            await asyncio.gather(self._starting, return_exceptions=True)
        if self._lifespan is not None:
            await self._lifespan.shutdown()


class _Lifespan:
    """Drives an app's lifespan protocol: startup, then (later) shutdown."""

    def __init__(self, app: ASGIApp, scope: Scope) -> None:
        self._app = app
        self._scope = {**scope, "state": scope.get("state", {})}
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._replies: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._error: Exception | None = None

    async def startup(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._inbox.put({"type": "lifespan.startup"})
        reply = await self._reply()
        if reply["type"] == "lifespan.startup.failed":
            raise AppStartError(reply.get("message") or "its startup failed")

    async def shutdown(self) -> None:
        if self._task is None or self._task.done():
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        reply = await self._reply()
        if reply["type"] == "lifespan.shutdown.failed":
            log.error("the server's shutdown failed: %s", reply.get("message"))
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        try:
            await self._app(self._scope, self._inbox.get, self._replies.put)
        except Exception as exc:
            self._error = exc
        finally:
            # The app returned (it has no lifespan, or it ended) or raised: no reply comes.
            await self._replies.put({"type": "lifespan.ended"})

    async def _reply(self) -> Message:
        reply = await self._replies.get()
        if reply["type"] == "lifespan.ended" and self._error is not None:
            error = self._error
            raise AppStartError(f"{type(error).__name__}: {error}") from error
        return reply


async def _unavailable(scope: Scope, send: Send, reason: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1011, "reason": reason[:120]})
        return
    body = json.dumps({"error": {"code": "server_unavailable", "message": reason}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
