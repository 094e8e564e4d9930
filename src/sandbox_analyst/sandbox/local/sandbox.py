"""`LocalSandbox`: a session on a worker forked by the local zygote.

The session outlives its worker: when the worker dies (killed, crashed, out of memory) or must
be killed (code that ignores interrupts), a fresh one is forked onto the same workdir. Variables
are lost, files are kept, `generation` goes up, and the caller is told in `Execution.error`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox_analyst.sandbox.base import (
    ErrorHandler,
    Language,
    OutputHandler,
    PackageOverlay,
    ResultHandler,
    Sandbox,
    call_handler,
    checked_env_vars,
    checked_language,
)
from sandbox_analyst.sandbox.egress import EgressSession
from sandbox_analyst.sandbox.errors import SandboxClosedError
from sandbox_analyst.sandbox.local.disk_watch import DiskWatch
from sandbox_analyst.sandbox.local.files import LocalFiles
from sandbox_analyst.sandbox.local.outputs import OutputCollector
from sandbox_analyst.sandbox.local.process_stats import read_process_stats
from sandbox_analyst.sandbox.local.spawner import Lost, WorkerProcess
from sandbox_analyst.sandbox.local.tree_removal import remove_tree
from sandbox_analyst.sandbox.models import (
    CommandResult,
    Execution,
    ExecutionError,
    SandboxErrorName,
    SandboxInfo,
)
from sandbox_analyst.sandbox.paths import split_path
from sandbox_analyst.sandbox.sql_cells import finish_sql, sql_error_handler, sql_program

if TYPE_CHECKING:
    from sandbox_analyst.config import SandboxSettings

log = logging.getLogger(__name__)

Respawn = Callable[[], Awaitable[WorkerProcess]]
_EXIT_WAIT = 5.0  # seconds a closed worker may take to be reaped before its files go


_HANDLERS = ("stdout", "stderr", "result", "error")
_SETENV_TIMEOUT = 10.0
# The session's approved installs, relative to its workdir.
PACKAGE_OVERLAY_DIR = ".packages"


class _Interrupted(Exception):
    """The execution did not finish before its deadline."""


class LocalSandbox(Sandbox):
    backend = "local"

    def __init__(
        self,
        sandbox_id: str,
        worker: WorkerProcess,
        respawn: Respawn,
        settings: SandboxSettings,
        files: LocalFiles,
        on_close: Callable[[LocalSandbox], None] | None = None,
        *,
        owns_files: bool = True,
        template: str = "default",
        template_layers: tuple[Path, ...] = (),
        egress: EgressSession | None = None,
    ) -> None:
        self.sandbox_id = sandbox_id
        self.egress = egress
        """The session's controlled egress (its policy, limits, records); None: no network."""
        self.template = template
        self._template_layers = template_layers
        self._overlay_active = False
        self.files = files
        self._worker = worker
        self._respawn = respawn
        self._settings = settings
        self._on_close = on_close
        self._lock = asyncio.Lock()
        self._generation = 0
        self._executions = 0
        self._created = time.monotonic()
        self._closed = False
        self._abandoned: asyncio.Task[None] | None = None
        self._owns_files = owns_files
        self._interpreters: list[LocalSandbox] = []
        self._peak_memory: int | None = None
        self._session_env: dict[str, str] = {}
        self.last_used = time.monotonic()
        self.busy = False

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def languages(self) -> tuple[str, ...]:
        """What the worker found it can run (R where the R interpreter is installed)."""
        return self._worker.languages

    @property
    def pid(self) -> int:
        return self._worker.pid

    @property
    def cwd(self) -> str:
        """Where the workdir is visible to the code (may differ from the host path)."""
        return self._worker.cwd

    async def run_code(
        self,
        code: str,
        *,
        language: Language = "python",
        env_vars: Mapping[str, str] | None = None,
        timeout: float | None = None,
        on_stdout: OutputHandler | None = None,
        on_stderr: OutputHandler | None = None,
        on_result: ResultHandler | None = None,
        on_error: ErrorHandler | None = None,
    ) -> Execution:
        env = checked_env_vars(env_vars)
        checked_language(language, self.languages)
        if language == "sql":
            code, on_error = sql_program(code), sql_error_handler(on_error)
        handlers: dict[str, Any] = {
            "stdout": on_stdout,
            "stderr": on_stderr,
            "result": on_result,
            "error": on_error,
        }
        if language in ("python", "sql", "r"):
            op = "r" if language == "r" else "execute"
            execution = (
                await self._run({"op": op, "code": code, "env": env}, timeout, handlers)
            ).execution
            return finish_sql(execution) if language == "sql" else execution
        request = {"op": "command", "command": code, "cwd": None, "env": env}
        collect = await self._run(request, timeout, handlers)
        failure = collect.command_failure()
        if failure is not None and collect.execution.error is None:
            collect.execution.error = ExecutionError(SandboxErrorName.COMMAND_EXIT, failure)
            await call_handler(on_error, collect.execution.error)
        return collect.execution

    async def run_command(
        self,
        command: str,
        *,
        cwd: str | None = None,
        env_vars: Mapping[str, str] | None = None,
        timeout: float | None = None,
        on_stdout: OutputHandler | None = None,
        on_stderr: OutputHandler | None = None,
    ) -> CommandResult:
        env = checked_env_vars(env_vars)
        directory = "/".join(split_path(cwd)) if cwd else ""
        handlers: dict[str, Any] = {
            "stdout": on_stdout,
            "stderr": on_stderr,
            "result": None,
            "error": None,
        }
        request = {"op": "command", "command": command, "cwd": directory or None, "env": env}
        collect = await self._run(request, timeout, handlers)
        execution = collect.execution
        error = execution.error.value if execution.error is not None else collect.command_error
        return CommandResult(
            exit_code=collect.exit_code,
            stdout="".join(execution.logs.stdout),
            stderr="".join(execution.logs.stderr),
            error=error,
        )

    def package_overlay(self) -> PackageOverlay:
        # In the workdir: visible and readable inside without a mount of its own, counted by
        # the disk quota, and gone with the session. A dot directory, so never an artifact.
        return PackageOverlay(self.files.root / PACKAGE_OVERLAY_DIR, self._template_layers)

    async def activate_package_overlay(self) -> None:
        self._check_open()
        self._overlay_active = True
        await self._run(
            {"op": "import_path", "path": PACKAGE_OVERLAY_DIR}, None, dict.fromkeys(_HANDLERS)
        )

    async def set_env_vars(self, env_vars: Mapping[str, str]) -> None:
        """Set variables for every later execution and command of this session (a worker
        that replaces a lost one gets them too)."""
        env = checked_env_vars(env_vars)
        if env:
            self._session_env.update(env)
            await self._run({"op": "setenv", "env": env}, None, dict.fromkeys(_HANDLERS))

    async def _run(
        self, request: dict[str, Any], timeout: float | None, handlers: dict[str, Any]
    ) -> OutputCollector:
        async with self._lock:
            self._check_open()
            self.busy = True
            try:
                return await self._run_locked(request, timeout, handlers)
            finally:
                self.busy = False
                self.last_used = time.monotonic()

    async def _run_locked(
        self, request: dict[str, Any], timeout: float | None, handlers: dict[str, Any]
    ) -> OutputCollector:
        if self._abandoned is not None:
            # A cancelled execution is still winding down. Shielded: a caller cancelled
            # while it waits must not cut the wind-down short (the channel would be left
            # out of step, and every later execution would wait on a cancelled task).
            await asyncio.shield(self._abandoned)
        disk = DiskWatch(
            self.files,
            self._worker,
            interval=self._settings.disk_check_interval,
            grace=self._settings.interrupt_grace,
        )
        collect = OutputCollector(Execution(), handlers, self._settings.output_limit, disk)
        self._worker.discard_queued()
        # A worker that died since the last execution may not have been noticed yet: then
        # it is the write of this request that finds out, and it is reported the same way.
        if not self._worker.alive or not await self._worker.send(request):
            reason = await self._why_lost()
            await self._replace_worker()
            await self._report_lost(
                f"the sandbox process was lost ({reason}) and has been restarted: variables "
                "are gone, files are kept. Nothing was run; run the code again.",
                collect.execution,
                handlers,
            )
            return collect
        limit = self._settings.timeout if timeout is None else timeout
        self._executions += 1
        deadline = asyncio.get_running_loop().time() + limit
        disk.start()
        try:
            lost = await self._pump(collect, deadline)
        except _Interrupted:
            lost = await self._stop_runaway(collect, limit)
        except asyncio.CancelledError:
            # The caller went away (client disconnect, turn cancelled): stop the code and keep
            # the channel in step in the background, so the next execution starts clean.
            self._worker.signal(signal.SIGINT)
            self._abandoned = asyncio.create_task(self._wind_down(collect))
            raise
        finally:
            await disk.stop()
        if lost is not None:
            await self._replace_worker()
            await self._report_lost(lost, collect.execution, handlers)
            return collect
        if collect.execution.peak_memory_bytes is not None:
            self._peak_memory = collect.execution.peak_memory_bytes
        await self._check_disk_quota(collect.execution, handlers)
        return collect

    async def _check_disk_quota(self, execution: Execution, handlers: dict[str, Any]) -> None:
        # RLIMIT_FSIZE caps each file; this catches many files that add up past the quota.
        quota = self.files.quota_bytes
        if quota is None or execution.error is not None:
            return
        used = await asyncio.to_thread(self.files.usage_bytes)
        if used > quota:
            execution.error = ExecutionError(
                SandboxErrorName.DISK_QUOTA,
                f"the session's files use {used / 2**20:.1f} MiB, over the "
                f"{quota / 2**20:.0f} MiB quota; delete files to free space (new writes may fail)",
            )
            await call_handler(handlers["error"], execution.error)

    async def _pump(self, collect: OutputCollector, deadline: float) -> str | None:
        """Apply frames until `done`. Returns a description if the worker was lost."""
        loop = asyncio.get_running_loop()
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise _Interrupted
            try:
                async with asyncio.timeout(remaining):
                    frame = await self._worker.next_frame()
            except TimeoutError:
                raise _Interrupted from None
            if isinstance(frame, Lost):
                disk = collect.disk
                if disk is not None and disk.killed and disk.exceeded is not None:
                    return (
                        f"{disk.exceeded.describe()}, and the code went on writing "
                        "after it was interrupted, so the session was restarted: state lost "
                        "(variables are gone, files are kept)"
                    )
                return (
                    f"the sandbox process died while running the code: "
                    f"{await self._why_lost()}. The session was restarted: state lost "
                    "(variables are gone, files are kept)"
                )
            if await collect.apply(frame):
                return None

    async def _stop_runaway(self, collect: OutputCollector, limit: float) -> str | None:
        """Interrupt code that ran past its time; kill it if it ignores the interrupt."""
        self._worker.signal(signal.SIGINT)
        grace = self._settings.interrupt_grace
        try:
            lost = await self._pump(collect, asyncio.get_running_loop().time() + grace)
        except _Interrupted:
            self._worker.kill()
            return (
                f"the code ran past its {limit:g} s time limit and ignored the interrupt, so "
                "the session was restarted: state lost (variables are gone, files are kept)"
            )
        if lost is None:
            collect.timed_out(limit)
        return lost

    async def _wind_down(self, collect: OutputCollector) -> None:
        collect.silence()
        try:
            lost = await self._pump(
                collect, asyncio.get_running_loop().time() + self._settings.interrupt_grace
            )
        except _Interrupted:
            lost = "killed after cancellation"
            self._worker.kill()
        if lost is not None and not self._closed:
            await self._replace_worker()
        self._abandoned = None

    async def _why_lost(self) -> str:
        """What ended the worker, as precisely as the engine knows it."""
        lost = self._worker.lost
        if lost is not None and lost.violation:
            return f"the engine stopped it because {lost.reason}"
        ended = await self._worker.exit_reason()
        if ended is not None:
            return ended.describe(self._settings.memory_limit_mb)
        return lost.reason if lost is not None else "its channel closed"

    async def _report_lost(
        self, message: str, execution: Execution, handlers: dict[str, Any]
    ) -> Execution:
        execution.error = ExecutionError(SandboxErrorName.RESTARTED, message)
        await call_handler(handlers["error"], execution.error)
        return execution

    async def _replace_worker(self) -> None:
        if self._closed:  # closed under running code: its worker is gone for good
            raise SandboxClosedError(f"sandbox {self.sandbox_id} was closed")
        old = self._worker
        self._worker = await self._respawn()
        self._generation += 1
        self._peak_memory = None
        await old.close()
        requests: list[dict[str, Any]] = []
        if self._session_env:
            requests.append({"op": "setenv", "env": self._session_env})
        if self._overlay_active:
            requests.append({"op": "import_path", "path": PACKAGE_OVERLAY_DIR})
        for request in requests:
            collect = OutputCollector(Execution(), dict.fromkeys(_HANDLERS), 0)
            deadline = asyncio.get_running_loop().time() + _SETENV_TIMEOUT
            # A worker lost again right away is noticed (and reported) at the next execution.
            with contextlib.suppress(_Interrupted, OSError):
                await self._worker.send(request)
                await self._pump(collect, deadline)

    async def open_interpreter(self) -> LocalSandbox:
        self._check_open()
        worker = await self._respawn()
        interpreter = LocalSandbox(
            f"{self.sandbox_id}-{len(self._interpreters) + 1}",
            worker,
            self._respawn,
            self._settings,
            self.files,
            on_close=self._interpreters.remove,
            owns_files=False,
            template=self.template,
            template_layers=self._template_layers,
        )
        self._interpreters.append(interpreter)
        if self._session_env:
            await interpreter.set_env_vars(self._session_env)
        if self._overlay_active:
            await interpreter.activate_package_overlay()
        return interpreter

    async def interrupt(self) -> None:
        self._check_open()
        self._worker.signal(signal.SIGINT)

    async def restart(self) -> None:
        self._check_open()
        async with self._lock:
            self._worker.kill()
            await self._replace_worker()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for interpreter in list(self._interpreters):
            await interpreter.close()
        await self._worker.close()
        if self._abandoned is not None:
            self._abandoned.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._abandoned
        if self._owns_files:
            await discard_workdir(self._worker)
        if self._on_close is not None:
            self._on_close(self)

    async def info(self) -> SandboxInfo:
        self._check_open()
        stats = read_process_stats(self._worker.pid)
        return SandboxInfo(
            sandbox_id=self.sandbox_id,
            pid=self._worker.pid,
            memory_bytes=stats.rss_bytes,
            cpu_seconds=stats.cpu_seconds,
            age_seconds=time.monotonic() - self._created,
            executions=self._executions,
            workdir=str(self.files.root),
            peak_memory_bytes=self._peak_memory,
        )

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxClosedError(f"sandbox {self.sandbox_id} is closed")


async def discard_workdir(worker: WorkerProcess) -> None:
    """Delete the workdir of a closed worker once nothing runs in it any more (the zygote has
    reaped the worker and killed what was left in its cgroup). A failure is logged: it must
    not keep the session from ending."""
    await worker.exit_reason(_EXIT_WAIT)
    try:
        await asyncio.to_thread(remove_tree, worker.workdir)
    except OSError:
        log.exception("could not remove the sandbox workdir %s", worker.workdir)
