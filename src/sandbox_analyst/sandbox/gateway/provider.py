"""`GatewayProvider`: sessions on a Jupyter Kernel Gateway or Enterprise Gateway.

    provider = GatewayProvider(settings.sandbox.gateway, settings.sandbox)
    async with provider:
        sandbox = await provider.create()
        execution = await sandbox.run_code("import pandas as pd; pd.__version__")

A session is one kernel. Its id (`gw-<kernel id>`) can be stored and reconnected to from any
process that reaches the same gateway. With `pool_size` > 0 a few kernels are started (and
set up) ahead of time, so that creating a session does not wait for a kernel to boot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sandbox_analyst.config import GatewaySettings, SandboxSettings
from sandbox_analyst.sandbox.base import Sandbox
from sandbox_analyst.sandbox.errors import (
    SandboxClosedError,
    SandboxNotFoundError,
    SandboxStartError,
)
from sandbox_analyst.sandbox.gateway.errors import GatewayError, KernelGoneError
from sandbox_analyst.sandbox.gateway.kernel import KernelRestarted, RemoteKernel
from sandbox_analyst.sandbox.gateway.rest import GatewayRest, ListingDisabledError
from sandbox_analyst.sandbox.gateway.sandbox import (
    BootstrapConfig,
    GatewaySandbox,
    kernel_id_of,
)
from sandbox_analyst.sandbox.provider import (
    ProviderHealth,
    SandboxProvider,
    SessionRecord,
    SessionSpec,
)

log = logging.getLogger(__name__)

# New kernels tried before a session's start fails (see `_new_kernel`).
_START_ATTEMPTS = 2


class GatewayProvider(SandboxProvider):
    backend = "gateway"

    @classmethod
    def from_settings(
        cls, settings: SandboxSettings, root: Path, *, hidden_paths: Sequence[str] = ()
    ) -> GatewayProvider:
        """What `create_provider` calls. `root` and `hidden_paths` concern sessions on this
        machine; a gateway's kernels run elsewhere and keep their files there."""
        del root, hidden_paths
        return cls(settings.gateway, settings)

    def __init__(self, gateway: GatewaySettings, sandbox: SandboxSettings) -> None:
        self.gateway = gateway
        self.settings = sandbox
        self.bootstrap = BootstrapConfig(
            figure_dpi=sandbox.figure_dpi,
            threads=sandbox.threads,
            quota_bytes=sandbox.disk_quota_mb * 1024 * 1024,
            session_dir=gateway.session_dir,
        )
        self._rest: GatewayRest | None = None
        self._kernelspecs: set[str] = set()
        self._sessions: dict[str, GatewaySandbox] = {}
        self._owned: set[str] = set()  # ids of sessions this process created
        # Sessions let go of (closed, lost) whose background work may still use the REST
        # client: shutdown() waits for it before closing the client.
        self._winding_down: set[GatewaySandbox] = set()
        self._ready: deque[RemoteKernel] = deque()
        self._refill: asyncio.Task[None] | None = None
        self._starting: asyncio.Task[None] | None = None
        self._closed = False

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._starting is None:
            self._starting = asyncio.get_running_loop().create_task(self._start())
        await asyncio.shield(self._starting)

    async def _start(self) -> None:
        try:
            self._rest = GatewayRest(self.gateway)
            specs = await self._rest.kernelspecs()
        except GatewayError as exc:
            if self._rest is not None:
                await self._rest.close()
            self._starting = None
            raise SandboxStartError(f"the sandbox gateway is not usable: {exc}") from exc
        self._kernelspecs = set((specs or {}).get("kernelspecs") or {})
        if self.gateway.kernel_name not in self._kernelspecs:
            known = ", ".join(sorted(self._kernelspecs)) or "none"
            await self._rest.close()
            self._starting = None
            raise SandboxStartError(
                f"the gateway has no kernelspec {self.gateway.kernel_name!r} (it has: {known}); "
                "set sandbox.gateway.kernel_name"
            )
        self._schedule_refill()

    async def wait_ready(self) -> None:
        """Until the pool of waiting kernels is full (benchmarks, tests)."""
        while len(self._ready) < self.gateway.pool_size:
            self._schedule_refill()
            assert self._refill is not None
            await asyncio.shield(self._refill)

    def _schedule_refill(self) -> None:
        if self._closed or len(self._ready) >= self.gateway.pool_size:
            return
        if self._refill is None or self._refill.done():
            self._refill = asyncio.get_running_loop().create_task(self._fill_pool())

    async def _fill_pool(self) -> None:
        while not self._closed and len(self._ready) < self.gateway.pool_size:
            try:
                kernel = await self._new_kernel(self.gateway.kernel_name)
            except Exception:
                log.exception("could not start a kernel for the gateway pool")
                return
            if self._closed:
                await kernel.shutdown()
                return
            self._ready.append(kernel)

    async def shutdown(self) -> None:
        """End the sessions this process created; let go of those it only connected to."""
        self._closed = True
        if self._refill is not None:
            self._refill.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._refill
        for sandbox_id, sandbox in list(self._sessions.items()):
            with contextlib.suppress(Exception):
                if sandbox_id in self._owned:
                    await sandbox.close()
                else:
                    await sandbox.detach()
        while self._ready:
            await self._ready.popleft().shutdown()
        pending = [task for sandbox in self._winding_down for task in sandbox.background()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        self._winding_down.clear()
        if self._rest is not None:
            await self._rest.close()

    # --- sessions --------------------------------------------------------------------------

    async def create(self, spec: SessionSpec | None = None) -> Sandbox:
        spec = spec or SessionSpec()
        await self._require_started()
        name = self._kernel_name(spec.template)
        kernel = self._ready.popleft() if name == self.gateway.kernel_name and self._ready else None
        try:
            if kernel is None:
                kernel = await self._new_kernel(name)
            else:
                self._schedule_refill()
            session = {
                "env": dict(spec.env_vars),
                "labels": dict(spec.labels),
                "template": spec.template or "default",
            }
            sandbox = GatewaySandbox(
                kernel, self.settings, self.bootstrap, session, on_close=self._forget
            )
            await sandbox.open_new()
        except GatewayError as exc:
            if kernel is not None:
                await kernel.shutdown()
            raise SandboxStartError(f"could not start a session on the gateway: {exc}") from exc
        except BaseException:
            if kernel is not None:
                await kernel.shutdown()
            raise
        self._sessions[sandbox.sandbox_id] = sandbox
        self._owned.add(sandbox.sandbox_id)
        return sandbox

    async def _new_kernel(self, name: str) -> RemoteKernel:
        """A started kernel with the bootstrap installed. A kernel that dies before it ever ran
        a user's code (on a shared host its ports can be taken between being picked and being
        bound) is replaced once: nothing of anyone's is lost with it."""
        failure: Exception | None = None
        for _ in range(_START_ATTEMPTS):
            try:
                return await self._start_kernel(name)
            except (KernelGoneError, KernelRestarted) as exc:
                failure = exc
                log.warning("a new %s kernel died while starting (%s)", name, exc)
        raise KernelGoneError(
            f"{_START_ATTEMPTS} new kernels in a row died while starting; the gateway's log "
            "says why"
        ) from failure

    async def _start_kernel(self, name: str) -> RemoteKernel:
        rest = await self._require_started()
        kernel = await RemoteKernel.start(rest, name, self.gateway)
        try:
            await kernel.bootstrap(
                self.bootstrap.kernel_config(), self.gateway.kernel_start_timeout
            )
        except BaseException:
            await kernel.shutdown()
            raise
        return kernel

    async def connect(self, sandbox_id: str) -> Sandbox:
        live = self._sessions.get(sandbox_id)
        if live is not None and not live.closed:
            return live
        kernel_id = kernel_id_of(sandbox_id)
        if kernel_id is None:
            raise SandboxNotFoundError(f"{sandbox_id!r} is not a gateway session id")
        rest = await self._require_started()
        try:
            kernel = await RemoteKernel.attach(rest, kernel_id, self.gateway)
        except KernelGoneError as exc:
            raise SandboxNotFoundError(f"no live gateway session {sandbox_id!r}") from exc
        sandbox = GatewaySandbox(
            kernel, self.settings, self.bootstrap, {}, on_close=self._forget, opened=False
        )
        self._sessions[sandbox_id] = sandbox
        return sandbox

    async def end(self, sandbox_id: str) -> bool:
        try:
            sandbox = await self.connect(sandbox_id)
        except SandboxNotFoundError:
            return False
        await sandbox.close()
        return True

    async def list_sessions(self) -> list[SessionRecord]:
        """The sessions this process holds that the gateway still runs."""
        rest = await self._require_started()
        live = [sandbox for sandbox in self._sessions.values() if not sandbox.closed]
        with contextlib.suppress(ListingDisabledError):
            running = {kernel.get("id") for kernel in await rest.kernels()}
            live = [sandbox for sandbox in live if sandbox.kernel.kernel_id in running]
        return [
            SessionRecord(
                sandbox_id=sandbox.sandbox_id,
                template=sandbox.template,
                labels=sandbox.labels,
                started_at=float(sandbox.session.get("created_at") or sandbox.kernel.started_at),
            )
            for sandbox in live
        ]

    def ready_workers(self) -> dict[str, int]:
        # Pre-started kernels are of the default kernelspec: the default template's.
        return {"default": len(self._ready)}

    async def health(self) -> ProviderHealth:
        facts: dict[str, Any] = {
            "url": self.gateway.url,
            "kernel_name": self.gateway.kernel_name,
            "pool_ready": len(self._ready),
        }
        sessions = sum(1 for sandbox in self._sessions.values() if not sandbox.closed)
        try:
            rest = await self._require_started()
            began = time.perf_counter()
            specs = await rest.kernelspecs()
            facts["round_trip_ms"] = round((time.perf_counter() - began) * 1000, 1)
            facts["kernelspecs"] = sorted((specs or {}).get("kernelspecs") or {})
            with contextlib.suppress(ListingDisabledError):
                facts["gateway_kernels"] = len(await rest.kernels())
        except (GatewayError, SandboxStartError) as exc:
            return ProviderHealth(self.backend, False, str(exc), sessions, facts)
        detail = f"gateway at {self.gateway.url}, kernel {self.gateway.kernel_name!r}"
        return ProviderHealth(self.backend, True, detail, sessions, facts)

    # --- helpers ---------------------------------------------------------------------------

    async def _require_started(self) -> GatewayRest:
        if self._closed:
            raise SandboxClosedError("the gateway provider was shut down")
        if self._rest is None or self._starting is None or not self._starting.done():
            await self.start()
        assert self._rest is not None
        return self._rest

    def _kernel_name(self, template: str | None) -> str:
        if template is None:
            return self.gateway.kernel_name
        name = self.gateway.templates.get(template)
        if name is not None:
            return name
        if template in self._kernelspecs:
            return template
        raise SandboxStartError(
            f"no kernelspec for template {template!r} on the gateway; map it in "
            "sandbox.gateway.templates"
        )

    def _forget(self, sandbox: GatewaySandbox) -> None:
        if self._sessions.get(sandbox.sandbox_id) is sandbox:
            del self._sessions[sandbox.sandbox_id]
        self._owned.discard(sandbox.sandbox_id)
        self._winding_down = {kept for kept in self._winding_down if kept.background()}
        self._winding_down.add(sandbox)
