"""`LocalProvider`: the local backend behind the `SandboxProvider` interface. Sessions are
workers handed over by a `SandboxPool` on this machine; their ids are known to this process
only, so `connect()` finds the sessions this provider created while they live.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox.base import checked_env_vars
from sandbox_analyst.sandbox.errors import SandboxNotFoundError, SandboxUsageError
from sandbox_analyst.sandbox.local.isolation import detect
from sandbox_analyst.sandbox.local.pool import SandboxPool
from sandbox_analyst.sandbox.local.sandbox import LocalSandbox
from sandbox_analyst.sandbox.provider import (
    IsolationLayer,
    ProviderHealth,
    SandboxProvider,
    SessionRecord,
    SessionSpec,
)

DEFAULT_TEMPLATE = "default"


@dataclass(frozen=True)
class _Session:
    sandbox: LocalSandbox
    record: SessionRecord


class LocalProvider(SandboxProvider):
    backend = "local"

    def __init__(
        self, settings: SandboxSettings, root: Path, *, hidden_paths: Sequence[str] = ()
    ) -> None:
        """`root` holds the session workdirs; `hidden_paths` (e.g. the data directory with the
        database) must be unreadable from inside the sandboxes, as must `root` itself."""
        self.settings = settings
        self.pool = SandboxPool(settings, root, hidden_paths=tuple(hidden_paths))
        self._sessions: dict[str, _Session] = {}
        self._starting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Concurrent callers share one start; shielded, so a caller that goes away does not
        # leave the zygote half-started.
        if self._starting is None:
            self._starting = asyncio.get_running_loop().create_task(self.pool.start())
        await asyncio.shield(self._starting)

    async def wait_ready(self) -> None:
        await self.start()
        await self.pool.wait_ready()

    async def create(self, spec: SessionSpec | None = None) -> LocalSandbox:
        spec = spec or SessionSpec()
        template = spec.template or DEFAULT_TEMPLATE
        if template != DEFAULT_TEMPLATE:
            raise SandboxUsageError(
                f"unknown sandbox template {template!r}; this server has: {DEFAULT_TEMPLATE}"
            )
        env_vars = checked_env_vars(spec.env_vars)
        await self.start()
        sandbox = await self.pool.acquire()
        if env_vars:
            try:
                await sandbox.set_env_vars(env_vars)
            except BaseException:
                await sandbox.close()
                raise
        record = SessionRecord(sandbox.sandbox_id, template, dict(spec.labels), time.time())
        self._forget_closed()
        self._sessions[sandbox.sandbox_id] = _Session(sandbox, record)
        return sandbox

    async def connect(self, sandbox_id: str) -> LocalSandbox:
        session = self._live(sandbox_id)
        if session is None:
            raise SandboxNotFoundError(f"no live local sandbox session {sandbox_id!r}")
        return session.sandbox

    async def end(self, sandbox_id: str) -> bool:
        session = self._live(sandbox_id)
        if session is None:
            return False
        del self._sessions[sandbox_id]
        await session.sandbox.close()
        return True

    async def list_sessions(self) -> list[SessionRecord]:
        self._forget_closed()
        return [session.record for session in self._sessions.values()]

    async def health(self) -> ProviderHealth:
        pool = self.pool
        report = pool.isolation_report
        if report is None and self.settings.isolation:
            report = await asyncio.to_thread(detect, pool.isolation_settings())
        layers = tuple(IsolationLayer(*row) for row in report.as_rows()) if report else ()
        level = report.level if report else "none"
        ready = pool.running and pool.refill_error is None
        if not pool.running:
            detail = "not started"
        elif pool.refill_error is not None:
            detail = str(pool.refill_error)
        else:
            detail = (
                f"zygote running, {pool.ready_count} of {self.settings.pool_size} workers ready"
            )
            if pool.preloading:
                detail += ", still preloading libraries"
        facts = {
            "zygote_pid": pool.zygote_pid,
            "pool_ready": pool.ready_count,
            "pool_size": self.settings.pool_size,
            "preloaded": pool.preloaded,
            "preload_failed": pool.failed_preloads,
        }
        return ProviderHealth(
            backend=self.backend,
            ready=ready,
            detail=detail,
            sessions=len(await self.list_sessions()),
            facts=facts,
            isolation_level=level,
            layers=layers,
        )

    async def shutdown(self) -> None:
        if self._starting is not None:
            # A start still under way must finish before the pool can be closed cleanly.
            await asyncio.gather(self._starting, return_exceptions=True)
        self._sessions.clear()
        await self.pool.close()

    def _forget_closed(self) -> None:
        # A session may be closed through its own `close()` rather than `end()`.
        for sandbox_id in [i for i, s in self._sessions.items() if s.sandbox.closed]:
            del self._sessions[sandbox_id]

    def _live(self, sandbox_id: str) -> _Session | None:
        session = self._sessions.get(sandbox_id)
        if session is not None and session.sandbox.closed:
            del self._sessions[sandbox_id]
            return None
        return session
