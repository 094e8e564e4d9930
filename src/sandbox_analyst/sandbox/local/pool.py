"""`SandboxPool`: the local backend's front door. Keeps a few workers forked, set up and waiting,
so that acquiring a session is a hand-over, not a start-up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
import uuid
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox.egress import (
    EgressPolicy,
    EgressSession,
    EgressSink,
    limits_from_settings,
    log_record,
    policy_from_settings,
)
from sandbox_analyst.sandbox.errors import IsolationError, SandboxClosedError, SandboxStartError
from sandbox_analyst.sandbox.local.egress_channel import EgressChannel
from sandbox_analyst.sandbox.local.files import LocalFiles
from sandbox_analyst.sandbox.local.isolation import (
    IsolationReport,
    IsolationSettings,
    LayerName,
    detect,
    harden_current_process,
)
from sandbox_analyst.sandbox.local.isolation.settings import EGRESS_PORT
from sandbox_analyst.sandbox.local.isolation.wire import isolation_to_wire
from sandbox_analyst.sandbox.local.sandbox import LocalSandbox, discard_workdir
from sandbox_analyst.sandbox.local.spawner import Spawner, WorkerProcess, ZygoteConfig
from sandbox_analyst.sandbox.local.tree_removal import remove_tree
from sandbox_analyst.sandbox.local.zygote_launch import MATPLOTLIB_BACKEND, PATH

log = logging.getLogger(__name__)

_THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
_LEVELS = ("none", "basic", "strict")
# Refill a moment after a hand-over: forking (and isolating) a worker while the new session
# runs its first cell would make them compete for the CPU (measured 4x slower on 2 cores).
_REFILL_DELAY = 0.25


class SandboxPool:
    def __init__(
        self,
        settings: SandboxSettings,
        root: Path,
        *,
        hidden_paths: tuple[str, ...] = (),
        import_paths: tuple[str, ...] = (),
        read_paths: tuple[str, ...] = (),
        environment: Mapping[str, str] | None = None,
        template: str = "default",
        egress: EgressPolicy | None = None,
        egress_sink: EgressSink = log_record,
    ) -> None:
        """`root` holds the session workdirs; `hidden_paths` (e.g. the data directory with
        the database) must be unreadable from inside the sandboxes, as must `root` itself.

        A template's overlay goes in `import_paths` (on the zygote's and every worker's import
        path, readable inside), its data in `read_paths` (readable, never writable) and its
        variables in `environment` (set in every worker); `template` names it.

        `egress` is what its sessions may reach (default: `sandbox.egress`'s policy; a
        template's is narrower); every connection, allowed or not, goes to `egress_sink`."""
        self.settings = settings
        self.template = template
        self.root = root
        self.hidden_paths = (str(root), *hidden_paths)
        self.import_paths = import_paths
        self.read_paths = read_paths
        self.environment = dict(environment or {})
        self.egress_policy = egress if egress is not None else policy_from_settings(settings.egress)
        self.egress_sink = egress_sink
        self.isolation_report: IsolationReport | None = None
        self.owner: tuple[int, int] | None = None
        self._spawner: Spawner | None = None
        self._ready: deque[tuple[str, WorkerProcess]] = deque()
        self._starting = 0
        self._refill_task: asyncio.Task[None] | None = None
        self._refill_error: SandboxStartError | None = None
        self._sandboxes: set[LocalSandbox] = set()
        self._idle_since: float | None = time.monotonic()
        self._closed = False

    @property
    def ready_count(self) -> int:
        return len(self._ready)

    @property
    def zygote_pid(self) -> int | None:
        return self._spawner.pid if self._spawner else None

    @property
    def preloaded(self) -> list[str]:
        return list(self._spawner.hello.get("preloaded", [])) if self._spawner else []

    @property
    def preloading(self) -> bool:
        """True while the zygote is still importing the preload list."""
        return self._spawner is not None and self._spawner.preloading

    @property
    def failed_preloads(self) -> dict[str, str]:
        """Modules the zygote could not import: name -> error."""
        return dict(self._spawner.hello.get("failed", {})) if self._spawner else {}

    @property
    def session_count(self) -> int:
        """Sessions handed out and not closed yet."""
        return len(self._sandboxes)

    @property
    def idle_since(self) -> float | None:
        """`time.monotonic()` when the last session closed (or the pool was made); None while
        a session lives."""
        return self._idle_since

    @property
    def egress(self) -> bool:
        """Whether sessions may reach the policy's hosts (never without isolation: a worker
        that is not confined has the host's network, and no proxy would be in its way)."""
        return self.egress_policy.enabled and self.settings.isolation

    @property
    def running(self) -> bool:
        return self._spawner is not None and not self._closed

    @property
    def refill_error(self) -> SandboxStartError | None:
        """Why the last attempt to fork a pooled worker failed, until one succeeds again."""
        return self._refill_error

    async def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for name in (".matplotlib", ".home"):
            (self.root / name).mkdir(exist_ok=True)
        spawner = Spawner(self._zygote_config(None))
        # The zygote imports IPython while the isolation layers are probed here.
        spawner.launch()
        isolation = None
        try:
            if self.settings.isolation:
                isolation = self._detect_isolation()
                # This process holds the secrets (API keys, database URL): no sandbox may read
                # its environ or memory through /proc, and it never dumps core.
                harden_current_process()
        except BaseException:
            await spawner.close()
            raise
        self._spawner = spawner
        await spawner.start(isolation)
        owner = self._spawner.hello.get("owner")
        self.owner = (int(owner[0]), int(owner[1])) if owner else None
        self._schedule_refill()

    def isolation_settings(self) -> IsolationSettings:
        return IsolationSettings(
            memory_limit_mb=self.settings.memory_limit_mb,
            disk_quota_mb=self.settings.disk_quota_mb,
            max_processes=self.settings.max_processes,
            hidden_paths=self.hidden_paths,
            read_paths=self.read_paths,
            egress=self.egress,
        )

    def _detect_isolation(self) -> dict[str, Any]:
        """Probe which layers hold here; refuse to start below the configured minimum."""
        settings = self.isolation_settings()
        report = detect(settings)
        self.isolation_report = report
        for layer in report.missing():
            log.warning(
                "SANDBOX ISOLATION: %s is NOT in force: %s%s",
                layer.name,
                layer.detail,
                f" (to get it: {layer.remedy})" if layer.remedy else "",
            )
        if self.egress and not report.is_active(LayerName.NETWORK):
            raise IsolationError(
                "sandbox.egress.allow is set, but controlled egress needs the network "
                f"namespace layer, which is not in force here "
                f"({report.layer(LayerName.NETWORK).detail}); run `analyst doctor`, or empty "
                "the allow-list"
            )
        required = self.settings.min_isolation
        if _LEVELS.index(report.level) < _LEVELS.index(required):
            raise IsolationError(
                f"sandbox isolation level here is {report.level!r}, below the required "
                f"{required!r} (ANALYST_SANDBOX__MIN_ISOLATION); run `analyst doctor` to see "
                "which layers are missing and what they need"
            )
        return isolation_to_wire(settings, report)

    async def wait_ready(self) -> None:
        """Wait until the pool is full (useful before benchmarks and in tests)."""
        while len(self._ready) < self.settings.pool_size:
            self._schedule_refill()
            if self._refill_task is not None:
                await asyncio.shield(self._refill_task)
            if self._refill_error is not None:
                raise self._refill_error

    async def acquire(self) -> LocalSandbox:
        """A new session: a ready worker if one waits, else one forked now."""
        if self._closed or self._spawner is None:
            raise SandboxClosedError("the sandbox pool is not running")
        sandbox_id, worker = None, None
        while self._ready:
            candidate_id, candidate = self._ready.popleft()
            if candidate.alive:
                sandbox_id, worker = candidate_id, candidate
                break
            await self._discard(candidate)
        if worker is None or sandbox_id is None:
            sandbox_id = uuid.uuid4().hex
            worker = await self._spawn(self._new_workdir(sandbox_id))
        # Refill after the hand-over, never on the acquiring path.
        asyncio.get_running_loop().call_later(_REFILL_DELAY, self._schedule_refill)
        return self._wrap(sandbox_id, worker)

    def _wrap(self, sandbox_id: str, worker: WorkerProcess) -> LocalSandbox:
        workdir = worker.workdir
        egress = None
        if self.egress:
            limits = limits_from_settings(self.settings.egress)
            egress = EgressSession(sandbox_id, self.egress_policy, limits, self.egress_sink)
            _serve_egress(worker, egress)

        async def respawn() -> WorkerProcess:
            replacement = await self._spawn(workdir)
            if egress is not None:
                _serve_egress(replacement, egress)  # same session: same budget and records
            return replacement

        quota = self.settings.disk_quota_mb * 1024 * 1024
        sandbox = LocalSandbox(
            sandbox_id,
            worker,
            respawn,
            self.settings,
            LocalFiles(workdir, owner=self.owner, quota_bytes=quota),
            on_close=self._session_closed,
            template=self.template,
            template_layers=tuple(Path(path) for path in self.import_paths),
            egress=egress,
        )
        self._sandboxes.add(sandbox)
        self._idle_since = None
        return sandbox

    def _session_closed(self, sandbox: LocalSandbox) -> None:
        if sandbox.egress is not None:
            sandbox.egress.close()
        self._sandboxes.discard(sandbox)
        if not self._sandboxes:
            self._idle_since = time.monotonic()

    async def _spawn(self, workdir: Path) -> WorkerProcess:
        if self._spawner is None:
            raise SandboxClosedError("the sandbox pool is not running")
        return await self._spawner.spawn(workdir)

    def _new_workdir(self, sandbox_id: str) -> Path:
        workdir = self.root / sandbox_id
        workdir.mkdir(mode=0o700)
        if self.owner is not None:
            os.chown(workdir, *self.owner)
        return workdir

    def _schedule_refill(self) -> None:
        if self._closed or (self._refill_task is not None and not self._refill_task.done()):
            return
        self._refill_task = asyncio.get_running_loop().create_task(self._refill())

    async def _refill(self) -> None:
        if self._spawner is not None and len(self._ready) < self.settings.pool_size:
            # Pooled workers wait for the whole preload list; until then a session asked
            # for gets a worker forked on demand, with what the zygote has imported so far.
            try:
                await self._spawner.wait_preloaded()
            except SandboxStartError as exc:
                self._refill_error = SandboxStartError(f"could not fill the pool: {exc}")
                return
        while not self._closed and len(self._ready) < self.settings.pool_size:
            sandbox_id = uuid.uuid4().hex
            workdir = self._new_workdir(sandbox_id)
            try:
                worker = await self._spawn(workdir)
            except (SandboxStartError, SandboxClosedError, OSError) as exc:
                log.error("could not fork a sandbox worker: %s", exc)
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(remove_tree, workdir)
                self._refill_error = SandboxStartError(f"could not fill the pool: {exc}")
                return
            except asyncio.CancelledError:  # the pool is closing: leave no empty workdir behind
                with contextlib.suppress(OSError):
                    await asyncio.shield(asyncio.to_thread(remove_tree, workdir))
                raise
            self._refill_error = None
            if self._closed:
                await self._discard(worker)
                return
            self._ready.append((sandbox_id, worker))

    async def _discard(self, worker: WorkerProcess) -> None:
        await worker.close()
        await discard_workdir(worker)

    async def close(self) -> None:
        """End every session and worker of this pool, then the zygote."""
        self._closed = True
        if self._refill_task is not None:
            self._refill_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._refill_task
        for sandbox in list(self._sandboxes):
            await sandbox.close()
        while self._ready:
            _, worker = self._ready.popleft()
            await self._discard(worker)
        if self._spawner is not None:
            await self._spawner.close()
            self._spawner = None

    async def __aenter__(self) -> SandboxPool:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _zygote_config(self, isolation: dict[str, Any] | None) -> ZygoteConfig:
        threads = dict.fromkeys(_THREAD_VARIABLES, str(self.settings.threads))
        common = {
            "PATH": PATH,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "MPLBACKEND": MATPLOTLIB_BACKEND,
            **threads,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        # The zygote is launched with what depends on nothing but this installation (so that
        # it can be launched ahead, see `zygote_launch`); this comes with `configure`.
        settings_environment = {
            **threads,
            "HOME": str(self.root / ".home"),
            "MPLCONFIGDIR": str(self.root / ".matplotlib"),
        }
        worker_environment = {
            **self.environment,  # below the engine's own variables, never above
            **common,
            # `python` in a shell command is the sandbox's own interpreter, with its packages
            # (the template's overlay comes through PYTHONPATH), not the system's.
            "PATH": os.pathsep.join((str(Path(sys.executable).parent), PATH)),
            "TMPDIR": "/tmp",
            "MPLCONFIGDIR": "/tmp/.matplotlib",
            # Not the workdir: the user's files should hold only what they and their code made.
            "IPYTHONDIR": "/tmp/.ipython",
            "PAGER": "cat",
            "TERM": "dumb",
        }
        if self.egress:
            # What urllib, requests, httpx, pip and curl read; NO_PROXY empty on purpose:
            # even 127.0.0.1 is the host's here (the proxy decides), never the sandbox's own.
            proxy = f"http://127.0.0.1:{EGRESS_PORT}"
            for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
                worker_environment[name] = proxy
            worker_environment["NO_PROXY"] = worker_environment["no_proxy"] = ""
            # `%pip install` asks the server's index (reachable only if the policy lists it).
            if self.settings.package_index:
                worker_environment["PIP_INDEX_URL"] = self.settings.package_index
            if self.settings.extra_index_urls:
                worker_environment["PIP_EXTRA_INDEX_URL"] = " ".join(self.settings.extra_index_urls)
        if self.import_paths:
            # For the Python processes user code starts (the worker has them on sys.path).
            worker_environment["PYTHONPATH"] = os.pathsep.join(self.import_paths)
        return ZygoteConfig(
            preload=list(self.settings.preload),
            output_limit=self.settings.output_limit,
            figure_dpi=self.settings.figure_dpi,
            interrupt_grace=self.settings.interrupt_grace,
            worker_environment=worker_environment,
            settings_environment=settings_environment,
            import_paths=list(self.import_paths),
            isolation=isolation,
            egress=self.egress,
        )


def _serve_egress(worker: WorkerProcess, session: EgressSession) -> None:
    if worker.egress is None:
        raise SandboxStartError("the sandbox worker came without its egress channel")
    EgressChannel(worker.egress, session).start()
