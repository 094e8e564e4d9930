"""Kernels of the Jupyter-server subset (`/jupyter`, what Open WebUI's code interpreter
drives): each kernel is one of our isolated sandbox sessions, owned by the user whose API key
started it. Nobody else can see, reach or end it (another user is told it does not exist).

A kernel lives until its owner deletes it; one left idle for `sandbox.idle_timeout` ends like
every session (and so may the least recently used idle one when its owner or the server is
at a cap). Its executions run one at a time, in the order they were asked for, as a Jupyter
kernel's do; while one runs the kernel is `busy`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sandbox_analyst.sandbox import Sandbox, SessionKey, SessionManager
from sandbox_analyst.service.errors import NotFound
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.store import utcnow

log = logging.getLogger(__name__)

KERNEL_NAME = "python3"
_PURPOSE_PREFIX = "jupyter:"


class KernelNotFound(NotFound):
    code = "kernel_not_found"

    def __init__(self, kernel_id: str) -> None:
        super().__init__(f"no kernel {kernel_id!r}")


class NoSuchKernelSpec(NotFound):
    code = "kernelspec_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"no such kernel {name!r}; the one kernel here is {KERNEL_NAME!r}")


@dataclass
class Kernel:
    id: str
    owner_id: str
    sandbox: Sandbox
    last_activity: datetime = field(default_factory=utcnow)
    execution_count: int = 0
    connections: int = 0
    _running: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def execution_state(self) -> str:
        return "busy" if self._running.locked() else "idle"

    @asynccontextmanager
    async def executing(self) -> AsyncIterator[Sandbox]:
        """The sandbox, once every execution asked for before this one has ended."""
        async with self._running:
            self.last_activity = utcnow()
            try:
                yield self.sandbox
            finally:
                self.last_activity = utcnow()

    def next_count(self) -> int:
        self.execution_count += 1
        return self.execution_count


class KernelService:
    def __init__(self, sessions: SessionManager) -> None:
        self._sessions = sessions
        self._kernels: dict[str, Kernel] = {}
        self._ending: set[asyncio.Task[bool]] = set()

    async def start(self, principal: Principal, name: str | None = None) -> Kernel:
        if name not in (None, "", KERNEL_NAME, "python"):
            raise NoSuchKernelSpec(name)
        kernel_id = secrets.token_hex(16)
        sandbox, _created = await self._sessions.acquire(_key(principal.user_id, kernel_id))
        kernel = Kernel(kernel_id, principal.user_id, sandbox)
        self._kernels[kernel_id] = kernel
        return kernel

    def list(self, principal: Principal) -> list[Kernel]:
        return [
            kernel
            for kernel in list(self._kernels.values())
            if kernel.owner_id == principal.user_id and self._alive(kernel)
        ]

    def get(self, principal: Principal, kernel_id: str) -> Kernel:
        kernel = self._kernels.get(kernel_id)
        if kernel is None or kernel.owner_id != principal.user_id or not self._alive(kernel):
            raise KernelNotFound(kernel_id)
        return kernel

    async def delete(self, principal: Principal, kernel_id: str) -> None:
        """The kernel is gone at once; its session ends in the background. Ending a worker
        waits for its processes to be reaped (seconds on a busy machine), and Open WebUI
        waits for this answer after every run."""
        kernel = self.get(principal, kernel_id)
        del self._kernels[kernel_id]
        ending = asyncio.get_running_loop().create_task(
            self._sessions.end(_key(kernel.owner_id, kernel_id))
        )
        self._ending.add(ending)
        ending.add_done_callback(self._ended)
        # Let the end begin: its first step takes the session off the manager's books, so
        # it no longer counts against its owner's caps once this call returns.
        await asyncio.sleep(0)

    async def interrupt(self, principal: Principal, kernel_id: str) -> None:
        await self.get(principal, kernel_id).sandbox.interrupt()

    async def restart(self, principal: Principal, kernel_id: str) -> Kernel:
        """Fresh interpreter state (files are kept); the execution count starts again."""
        kernel = self.get(principal, kernel_id)
        await kernel.sandbox.interrupt()  # a running cell would hold the kernel until its end
        async with kernel.executing() as sandbox:
            await sandbox.restart()
            kernel.execution_count = 0
        return kernel

    async def shutdown(self) -> None:
        """End every kernel (the server is stopping), and wait for those being deleted."""
        kernels, self._kernels = self._kernels, {}
        for kernel in kernels.values():
            await self._sessions.end(_key(kernel.owner_id, kernel.id))
        await asyncio.gather(*self._ending, return_exceptions=True)

    def _ended(self, task: asyncio.Task[bool]) -> None:
        self._ending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("ending a deleted kernel's session failed", exc_info=task.exception())

    def _alive(self, kernel: Kernel) -> bool:
        """Whether the kernel's session still lives (it may have ended as idle, or to make
        room); a dead one is forgotten."""
        if self._sessions.get(_key(kernel.owner_id, kernel.id)) is kernel.sandbox:
            return True
        self._kernels.pop(kernel.id, None)
        return False


def _key(owner_id: str, kernel_id: str) -> SessionKey:
    return SessionKey(owner=owner_id, purpose=_PURPOSE_PREFIX + kernel_id)
