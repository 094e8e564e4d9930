"""`LocalSandbox`: a session on a worker forked by the local zygote.

The session outlives its worker: when the worker dies (killed, crashed, out of memory) or must
be killed (code that ignores interrupts), a fresh one is forked onto the same workdir. Variables
are lost, files are kept, `generation` goes up, and the caller is told in `Execution.error`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import shutil
import signal
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sandbox_analyst.sandbox.base import (
    ErrorHandler,
    OutputHandler,
    ResultHandler,
    Sandbox,
)
from sandbox_analyst.sandbox.errors import SandboxClosedError
from sandbox_analyst.sandbox.local.files import LocalFiles
from sandbox_analyst.sandbox.local.process_stats import read_process_stats
from sandbox_analyst.sandbox.local.spawner import Lost, WorkerProcess
from sandbox_analyst.sandbox.models import (
    Execution,
    ExecutionError,
    Result,
    SandboxErrorName,
    SandboxInfo,
)

if TYPE_CHECKING:
    from sandbox_analyst.config import SandboxSettings

Respawn = Callable[[], Awaitable[WorkerProcess]]


class _Interrupted(Exception):
    """The execution did not finish before its deadline."""


class LocalSandbox(Sandbox):
    def __init__(
        self,
        sandbox_id: str,
        worker: WorkerProcess,
        respawn: Respawn,
        settings: SandboxSettings,
        files: LocalFiles,
        on_close: Callable[[LocalSandbox], None] | None = None,
    ) -> None:
        self.sandbox_id = sandbox_id
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
        self.last_used = time.monotonic()
        self.busy = False

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def closed(self) -> bool:
        return self._closed

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
        timeout: float | None = None,
        on_stdout: OutputHandler | None = None,
        on_stderr: OutputHandler | None = None,
        on_result: ResultHandler | None = None,
        on_error: ErrorHandler | None = None,
    ) -> Execution:
        handlers: dict[str, Any] = {
            "stdout": on_stdout,
            "stderr": on_stderr,
            "result": on_result,
            "error": on_error,
        }
        async with self._lock:
            self._check_open()
            self.busy = True
            try:
                return await self._run_locked(code, timeout, handlers)
            finally:
                self.busy = False
                self.last_used = time.monotonic()

    async def _run_locked(
        self, code: str, timeout: float | None, handlers: dict[str, Any]
    ) -> Execution:
        if self._abandoned is not None:
            await self._abandoned  # a cancelled execution is still winding down
        if not self._worker.alive:
            reason = await self._worker.exit_reason()
            await self._replace_worker()
            return await self._report_lost(
                f"the sandbox process was lost ({reason}) and has been restarted: variables "
                "are gone, files are kept. Nothing was run; run the code again.",
                Execution(),
                handlers,
            )
        limit = self._settings.timeout if timeout is None else timeout
        execution = Execution()
        self._executions += 1
        self._worker.discard_queued()
        await self._worker.send({"op": "execute", "code": code})
        collect = _Collector(execution, handlers, self._settings.output_limit)
        deadline = asyncio.get_running_loop().time() + limit
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
        if lost is not None:
            await self._replace_worker()
            return await self._report_lost(lost, execution, handlers)
        await self._check_disk_quota(execution, handlers)
        execution.peak_memory_bytes = read_process_stats(self._worker.pid).rss_bytes or None
        return execution

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
            await _call(handlers["error"], execution.error)

    async def _pump(self, collect: _Collector, deadline: float) -> str | None:
        """Apply frames until `done`. Returns a description if the worker was lost."""
        loop = asyncio.get_running_loop()
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise _Interrupted
            try:
                frame = await asyncio.wait_for(self._worker.next_frame(), remaining)
            except TimeoutError:
                raise _Interrupted from None
            if isinstance(frame, Lost):
                reason = await self._worker.exit_reason()
                return _lost_message(reason)
            if await collect.apply(frame):
                return None

    async def _stop_runaway(self, collect: _Collector, limit: float) -> str | None:
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

    async def _wind_down(self, collect: _Collector) -> None:
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

    async def _report_lost(
        self, message: str, execution: Execution, handlers: dict[str, Any]
    ) -> Execution:
        execution.error = ExecutionError(SandboxErrorName.RESTARTED, message)
        await _call(handlers["error"], execution.error)
        return execution

    async def _replace_worker(self) -> None:
        old = self._worker
        self._worker = await self._respawn()
        self._generation += 1
        await old.close()

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
        await self._worker.close()
        if self._abandoned is not None:
            self._abandoned.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._abandoned
        await asyncio.to_thread(shutil.rmtree, self.files.root, True)
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
        )

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxClosedError(f"sandbox {self.sandbox_id} is closed")


class _Collector:
    """Builds an `Execution` from frames and fires the caller's callbacks as they arrive."""

    def __init__(self, execution: Execution, handlers: dict[str, Any], limit: int) -> None:
        self.execution = execution
        self.handlers = handlers
        self.limit = limit
        self.kept = 0
        self.silent = False

    def silence(self) -> None:
        self.silent = True

    async def apply(self, frame: dict[str, Any]) -> bool:
        """Fold one frame in; True when the execution is complete."""
        kind = frame.get("type")
        if kind in ("stdout", "stderr"):
            text = self._within_limit(str(frame.get("text", "")))
            if text:
                getattr(self.execution.logs, kind).append(text)
                await self._emit(kind, text)
        elif kind == "result":
            bundle = frame.get("bundle")
            if isinstance(bundle, dict):
                result = Result.from_bundle(bundle, is_main_result=bool(frame.get("main")))
                self.execution.results.append(result)
                await self._emit("result", result)
        elif kind == "error":
            error = ExecutionError(
                name=str(frame.get("name", "Error")),
                value=str(frame.get("value", "")),
                traceback=str(frame.get("traceback", "")),
            )
            self.execution.error = error
            await self._emit("error", error)
        elif kind == "done":
            count = frame.get("execution_count")
            self.execution.execution_count = count if isinstance(count, int) else None
            dropped = frame.get("dropped")
            if isinstance(dropped, int) and dropped > 0:
                note = f"[output truncated: {dropped} more bytes were not kept]\n"
                self.execution.logs.stderr.append(note)
            return True
        return False

    def timed_out(self, limit: float) -> None:
        self.execution.error = ExecutionError(
            SandboxErrorName.TIMEOUT,
            f"execution exceeded the {limit:g} s time limit and was interrupted; the "
            "session's state is kept",
            self.execution.error.traceback if self.execution.error else "",
        )

    def _within_limit(self, text: str) -> str:
        # The worker caps its own output, but it runs hostile code: cap again on our side.
        room = self.limit - self.kept
        if room <= 0:
            return ""
        text = text[:room]
        self.kept += len(text)
        return text

    async def _emit(self, kind: str, payload: Any) -> None:
        if not self.silent:
            await _call(self.handlers[kind], payload)


async def _call(handler: Callable[[Any], Any] | None, payload: Any) -> None:
    if handler is None:
        return
    outcome = handler(payload)
    if inspect.isawaitable(outcome):
        await outcome


def _lost_message(reason: str) -> str:
    hint = ""
    if "SIGKILL" in reason:
        hint = " (possibly out of memory)"
    elif "SIGSEGV" in reason or "SIGBUS" in reason or "SIGABRT" in reason:
        hint = " (the process crashed)"
    return (
        f"the sandbox process died while running the code: {reason}{hint}. The session was "
        "restarted: state lost (variables are gone, files are kept)"
    )
