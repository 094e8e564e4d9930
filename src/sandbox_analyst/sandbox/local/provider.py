"""`LocalProvider`: the local backend behind the `SandboxProvider` interface. Sessions are
workers handed over by a `SandboxPool` on this machine, one pool per template
(`TemplatePools`: the default's started with the provider, the others on first use); their ids
are known to this process only, so `connect()` finds the sessions this provider created while
they live.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox.base import checked_env_vars
from sandbox_analyst.sandbox.egress import EgressPolicy, EgressSink, log_record
from sandbox_analyst.sandbox.errors import SandboxNotFoundError
from sandbox_analyst.sandbox.local.isolation import detect
from sandbox_analyst.sandbox.local.pool import SandboxPool
from sandbox_analyst.sandbox.local.sandbox import LocalSandbox
from sandbox_analyst.sandbox.local.template_pools import TemplatePools
from sandbox_analyst.sandbox.provider import (
    DEFAULT_TEMPLATE,
    IsolationLayer,
    ProviderHealth,
    SandboxProvider,
    SessionRecord,
    SessionSpec,
)

if TYPE_CHECKING:
    from sandbox_analyst.sandbox.templates import TemplateCatalog

logger = logging.getLogger(__name__)

# How often pools of templates are checked for idleness (at most; sooner with a short timeout).
_IDLE_CHECK_INTERVAL = 30.0


@dataclass(frozen=True)
class _Session:
    sandbox: LocalSandbox
    record: SessionRecord


class LocalProvider(SandboxProvider):
    backend = "local"

    def __init__(
        self,
        settings: SandboxSettings,
        root: Path,
        *,
        hidden_paths: Sequence[str] = (),
        templates: TemplateCatalog | None = None,
        egress_sink: EgressSink = log_record,
    ) -> None:
        """`root` holds the session workdirs; `hidden_paths` (e.g. the data directory with the
        database) must be unreadable from inside the sandboxes, as must `root` itself.
        `templates` is where templates other than the default come from (none without it).
        Every egress connection of every session, allowed or refused, goes to `egress_sink`
        (default: the `sandbox_analyst.egress` log)."""
        self.settings = settings
        self.pools = TemplatePools(
            settings, root, hidden_paths=hidden_paths, catalog=templates, egress_sink=egress_sink
        )
        self.pool: SandboxPool = self.pools.default
        self._sessions: dict[str, _Session] = {}
        self._starting: asyncio.Task[None] | None = None
        self._idle_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Concurrent callers share one start; shielded, so a caller that goes away does not
        # leave the zygote half-started.
        if self._starting is None:
            self._starting = asyncio.get_running_loop().create_task(self._start())
        await asyncio.shield(self._starting)

    async def _start(self) -> None:
        await self.pools.start()
        self._idle_task = asyncio.get_running_loop().create_task(self._end_idle_pools())

    async def _end_idle_pools(self) -> None:
        interval = min(_IDLE_CHECK_INTERVAL, self.settings.template_idle_timeout / 2)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.pools.end_idle()
            except Exception:  # the next round retries; a failure here must not end the loop
                logger.exception("could not end idle template pools")

    async def wait_ready(self) -> None:
        await self.start()
        await self.pool.wait_ready()

    async def create(self, spec: SessionSpec | None = None) -> LocalSandbox:
        """Raises `TemplateNotFoundError` / `TemplateNotBuiltError` for a template it cannot
        start."""
        spec = spec or SessionSpec()
        template = spec.template or DEFAULT_TEMPLATE
        env_vars = checked_env_vars(spec.env_vars)
        # A bad entry is refused before a session is taken (EgressPolicyError, a usage error).
        narrowing = EgressPolicy().narrowed(spec.egress, "session egress")
        await self.start()
        sandbox = await self.pools.acquire(template)
        if sandbox.egress is not None:
            sandbox.egress.label(spec.labels)
            if narrowing.layers:
                policy = sandbox.egress.policy
                sandbox.egress.narrow(
                    EgressPolicy((*policy.layers, *narrowing.layers), policy.deny)
                )
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

    def record_egress_to(self, sink: EgressSink) -> None:
        self.pools.record_egress_to(sink)

    def ready_workers(self) -> dict[str, int]:
        ready = {DEFAULT_TEMPLATE: self.pool.ready_count}
        for entry in self.pools.live():
            ready[entry.template] = ready.get(entry.template, 0) + entry.pool.ready_count
        return ready

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
            "template_pools": [
                {
                    "template": entry.template,
                    "build": entry.build_id,
                    "zygote_pid": entry.pool.zygote_pid,
                    "pool_ready": entry.pool.ready_count,
                    "sessions": entry.sessions,
                }
                for entry in self.pools.live()
            ],
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
        if self._idle_task is not None:
            self._idle_task.cancel()
            await asyncio.gather(self._idle_task, return_exceptions=True)
        self._sessions.clear()
        await self.pools.close()

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
