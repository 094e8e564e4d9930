"""One zygote and pool per template: the default's is started with the provider, every other
template's on its first session, and ended once it has had no session for
`sandbox.template_idle_timeout` seconds.

A pool runs one *build* of its template. When the template is rebuilt, the next session of it
starts a pool on the new build; the old pool keeps serving the sessions it already has (its
build stays leased, so neither the rebuild nor a removal deletes their files) and is ended
once the last of them has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox.egress import EgressSink, log_record, policy_from_settings
from sandbox_analyst.sandbox.local.pool import SandboxPool
from sandbox_analyst.sandbox.local.sandbox import LocalSandbox
from sandbox_analyst.sandbox.provider import DEFAULT_TEMPLATE
from sandbox_analyst.sandbox.templates.errors import TemplateNotFoundError

if TYPE_CHECKING:
    from sandbox_analyst.sandbox.templates import TemplateCatalog, TemplateRuntime

log = logging.getLogger(__name__)


@dataclass
class TemplatePool:
    """A started (or starting) pool of one build of one template."""

    template: str
    build_id: str | None  # None: the default template (the server's environment)
    pool: SandboxPool
    runtime: TemplateRuntime | None
    started: asyncio.Task[None]
    acquiring: int = 0  # sessions being handed out right now: the pool is not idle

    @property
    def sessions(self) -> int:
        return self.pool.session_count


class TemplatePools:
    def __init__(
        self,
        settings: SandboxSettings,
        root: Path,
        *,
        hidden_paths: Sequence[str] = (),
        catalog: TemplateCatalog | None = None,
        egress_sink: EgressSink = log_record,
    ) -> None:
        """`catalog` is where templates other than the default come from; without one, only
        the default exists. Every pool's egress connections are recorded to `egress_sink`."""
        self.settings = settings
        self.egress_sink = egress_sink
        self.root = root
        self.hidden_paths = tuple(hidden_paths)
        self.catalog = catalog
        self.default = SandboxPool(
            settings, root, hidden_paths=self.hidden_paths, egress_sink=egress_sink
        )
        self._current: dict[str, TemplatePool] = {}  # template -> pool of its newest build
        self._retired: list[TemplatePool] = []  # older builds, kept while sessions live
        self._lock = asyncio.Lock()
        self._closed = False

    def record_egress_to(self, sink: EgressSink) -> None:
        """Where the egress records of every pool's sessions made from now on go."""
        self.egress_sink = sink
        for pool in (self.default, *(entry.pool for entry in self.live())):
            pool.egress_sink = sink

    def known(self) -> list[str]:
        return self.catalog.names() if self.catalog is not None else [DEFAULT_TEMPLATE]

    def live(self) -> list[TemplatePool]:
        """The template pools started so far (the default's not included)."""
        return [*self._current.values(), *self._retired]

    async def acquire(self, template: str) -> LocalSandbox:
        """A new session of `template`'s current build. Raises `TemplateNotFoundError`
        (unknown name) or `TemplateNotBuiltError`."""
        if template == DEFAULT_TEMPLATE:
            return await self.default.acquire()
        if self.catalog is None or self._closed:
            raise TemplateNotFoundError(template, self.known())
        async with self._lock:
            entry = await self._entry_for(self.catalog, template)
            entry.acquiring += 1  # never ended as idle while a session is on its way
        try:
            await asyncio.shield(entry.started)
            return await entry.pool.acquire()
        finally:
            entry.acquiring -= 1

    async def _entry_for(self, catalog: TemplateCatalog, template: str) -> TemplatePool:
        """The pool of the template's current build, started now when there is none."""
        # The catalog reads the templates directory and locks builds: off the event loop.
        build = await asyncio.to_thread(catalog.store.current, template)
        entry = self._current.get(template)
        if entry is not None:
            failed = entry.started.done() and entry.started.exception() is not None
            if failed:
                del self._current[template]
                await self._end(entry)
            elif build is not None and entry.build_id == build.info.build_id:
                return entry
        runtime = await asyncio.to_thread(catalog.runtime, template)  # leases, or raises
        assert runtime.build is not None
        spec_egress = runtime.spec.egress
        egress = policy_from_settings(self.settings.egress).narrowed(
            spec_egress.allow if spec_egress is not None else None, f"template {template}"
        )
        pool = SandboxPool(
            runtime.sandbox_settings(self.settings),
            self.root,
            hidden_paths=self.hidden_paths,
            import_paths=runtime.import_paths,
            read_paths=runtime.read_paths,
            environment=runtime.environment,
            template=template,
            egress=egress,
            egress_sink=self.egress_sink,
        )
        started = asyncio.get_running_loop().create_task(pool.start())
        new = TemplatePool(template, runtime.build.info.build_id, pool, runtime, started)
        current = self._current.get(template)
        if current is not None:
            log.info(
                "template %s: new sessions use build %s; build %s ends with its sessions",
                template,
                new.build_id,
                current.build_id,
            )
            self._retired.append(current)
        self._current[template] = new
        return new

    async def start(self) -> None:
        await self.default.start()

    async def end_idle(self, idle_for: float | None = None) -> list[TemplatePool]:
        """End template pools without a session for `idle_for` seconds (default:
        `template_idle_timeout`), and retired ones with no session left; returns them."""
        limit = self.settings.template_idle_timeout if idle_for is None else idle_for
        now = time.monotonic()
        ended = []
        async with self._lock:
            for entry in list(self._retired):
                if entry.sessions == 0 and entry.acquiring == 0:
                    self._retired.remove(entry)
                    ended.append(entry)
            for template, entry in list(self._current.items()):
                idle_since = entry.pool.idle_since
                if (
                    entry.started.done()
                    and entry.acquiring == 0
                    and idle_since is not None
                    and now - idle_since >= limit
                ):
                    del self._current[template]
                    ended.append(entry)
        for entry in ended:
            await self._end(entry)
        return ended

    async def _end(self, entry: TemplatePool) -> None:
        with contextlib.suppress(Exception):
            await entry.started
        try:
            await entry.pool.close()
        finally:
            if entry.runtime is not None:
                entry.runtime.release()

    async def close(self) -> None:
        self._closed = True
        async with self._lock:
            entries = self.live()
            self._current.clear()
            self._retired.clear()
        for entry in entries:
            await self._end(entry)
        await self.default.close()
