"""`SessionManager`: which live sandbox belongs to which key (later: user + conversation)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Hashable

from sandbox_analyst.sandbox.errors import TooManySessionsError
from sandbox_analyst.sandbox.local.pool import SandboxPool
from sandbox_analyst.sandbox.local.sandbox import LocalSandbox

log = logging.getLogger(__name__)


class SessionManager:
    """Reuses a key's sandbox, reaps idle ones, caps how many live at once."""

    def __init__(
        self,
        pool: SandboxPool,
        *,
        max_sessions: int,
        idle_timeout: float,
        reap_interval: float | None = None,
    ) -> None:
        self.pool = pool
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        self.reap_interval = reap_interval or max(1.0, min(60.0, idle_timeout / 4))
        self._sessions: dict[Hashable, LocalSandbox] = {}
        self._creating: dict[Hashable, asyncio.Task[LocalSandbox]] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._stopping: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._sessions)

    def start(self) -> None:
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())

    def get(self, key: Hashable) -> LocalSandbox | None:
        sandbox = self._sessions.get(key)
        if sandbox is not None and sandbox.closed:
            del self._sessions[key]
            return None
        return sandbox

    async def get_or_create(self, key: Hashable) -> tuple[LocalSandbox, bool]:
        """The key's sandbox and whether it was created by this call."""
        existing = self.get(key)
        if existing is not None:
            existing.last_used = time.monotonic()
            return existing, False
        pending = self._creating.get(key)
        if pending is not None:  # another caller is already creating it: share the result
            return await asyncio.shield(pending), False
        if len(self._sessions) + len(self._creating) >= self.max_sessions:
            raise TooManySessionsError(self.max_sessions)
        task = asyncio.get_running_loop().create_task(self.pool.acquire())
        self._creating[key] = task
        try:
            sandbox = await asyncio.shield(task)
        finally:
            self._creating.pop(key, None)
        self._sessions[key] = sandbox
        return sandbox, True

    async def close(self, key: Hashable) -> bool:
        """End the key's sandbox; False if there was none."""
        sandbox = self._sessions.pop(key, None)
        if sandbox is None:
            return False
        await sandbox.close()
        return True

    async def reap_idle(self) -> int:
        """Close sessions idle longer than `idle_timeout`; returns how many."""
        now = time.monotonic()
        idle = [
            key
            for key, sandbox in self._sessions.items()
            if not sandbox.busy and now - sandbox.last_used > self.idle_timeout
        ]
        for key in idle:
            log.info("closing idle sandbox session %s", key)
            await self.close(key)
        return len(idle)

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(self.reap_interval)
            try:
                await self.reap_idle()
            except Exception:  # the reaper must outlive any single failure
                log.exception("idle sandbox reaping failed")

    async def shutdown(self, *, close_pool: bool = True) -> None:
        """Close every session and, unless told otherwise, the pool (and so the zygote)."""
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        for key in list(self._sessions):
            await self.close(key)
        if close_pool:
            await self.pool.close()

    def install_signal_handlers(self, on_stopped: asyncio.Event) -> None:
        """Shut down cleanly on SIGTERM/SIGINT, then set `on_stopped`."""
        loop = asyncio.get_running_loop()

        async def shut_down() -> None:
            await self.shutdown()
            on_stopped.set()

        def stop() -> None:
            if self._stopping is None:
                self._stopping = loop.create_task(shut_down())

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop)
