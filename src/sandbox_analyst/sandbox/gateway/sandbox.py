"""`GatewaySandbox`: a session on one kernel of a Jupyter Kernel / Enterprise Gateway.

The session's id is derived from its kernel's id, so another server process can reach it with
`GatewayProvider.connect(sandbox_id)`. Like the local backend's session it outlives a kernel
restart (the kernel died and the gateway restarted it, or code ignored an interrupt and we
restarted it): variables are lost, the workdir is kept, `generation` goes up, and the caller is
told with `SandboxErrorName.RESTARTED`. When the kernel itself is gone (the gateway no longer
knows it) or its workdir did not survive the restart, the session is lost for good: it closes
itself and says so with `SandboxErrorName.LOST`, and a new session must be built.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox.base import (
    ErrorHandler,
    OutputHandler,
    ResultHandler,
    Sandbox,
    call_handler,
    checked_env_vars,
    checked_language,
)
from sandbox_analyst.sandbox.errors import SandboxClosedError
from sandbox_analyst.sandbox.gateway import messages
from sandbox_analyst.sandbox.gateway.errors import GatewayError, KernelGoneError
from sandbox_analyst.sandbox.gateway.files import GatewayFiles
from sandbox_analyst.sandbox.gateway.kernel import (
    BootstrapMissing,
    DeadlineReached,
    KernelRestarted,
    RemoteKernel,
    Reply,
    RequestStream,
)
from sandbox_analyst.sandbox.gateway.outputs import OutputCollector
from sandbox_analyst.sandbox.models import (
    CommandResult,
    Execution,
    ExecutionError,
    SandboxErrorName,
    SandboxInfo,
)
from sandbox_analyst.sandbox.paths import split_path
from sandbox_analyst.sandbox.sql_cells import run_in_language

log = logging.getLogger(__name__)

SANDBOX_ID_PREFIX = "gw-"


def sandbox_id_for(kernel_id: str) -> str:
    return SANDBOX_ID_PREFIX + kernel_id


def kernel_id_of(sandbox_id: str) -> str | None:
    if not sandbox_id.startswith(SANDBOX_ID_PREFIX):
        return None
    return sandbox_id.removeprefix(SANDBOX_ID_PREFIX) or None


@dataclass(frozen=True)
class BootstrapConfig:
    """What every kernel of a provider is set up with."""

    figure_dpi: int
    threads: int
    quota_bytes: int
    session_dir: str

    def kernel_config(self) -> dict[str, Any]:
        return {
            "figure_dpi": self.figure_dpi,
            "threads": self.threads,
            "quota_bytes": self.quota_bytes,
        }


class _SessionLost(Exception):
    """The session cannot continue: the kernel or its workdir is gone."""


class GatewaySandbox(Sandbox):
    backend = "gateway"

    def __init__(
        self,
        kernel: RemoteKernel,
        settings: SandboxSettings,
        bootstrap: BootstrapConfig,
        session: Mapping[str, Any],
        *,
        on_close: Callable[[GatewaySandbox], None] | None = None,
        opened: bool = True,
    ) -> None:
        """`opened=False`: a session found by id (another process made it); it is set up in
        the kernel on first use, so that finding it never waits behind a running cell."""
        self.sandbox_id = sandbox_id_for(kernel.kernel_id)
        self.kernel = kernel
        self.files = GatewayFiles(self)
        self.session = dict(session)
        self._settings = settings
        self._bootstrap = bootstrap
        self._on_close = on_close
        self._lock = asyncio.Lock()
        self._generation = 0
        self._executions = 0
        self._created = time.monotonic()
        self._closed = False
        self._lost_reason: str | None = None
        self._abandoned: asyncio.Task[None] | None = None
        self._stats: dict[str, Any] = {}
        self._opened = opened
        self._shutdown: asyncio.Task[bool] | None = None
        self.workdir = str(session.get("workdir", ""))
        self.last_used = time.monotonic()
        self.busy = False

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def template(self) -> str:
        return str(self.session.get("template") or "default")

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.session.get("labels") or {})

    # --- running code ----------------------------------------------------------------------

    async def run_code(
        self,
        code: str,
        *,
        language: str = "python",
        env_vars: Mapping[str, str] | None = None,
        timeout: float | None = None,
        on_stdout: OutputHandler | None = None,
        on_stderr: OutputHandler | None = None,
        on_result: ResultHandler | None = None,
        on_error: ErrorHandler | None = None,
    ) -> Execution:
        checked_language(language, self.languages, backend=self.backend)
        return await run_in_language(
            self._run_code,
            code,
            language,
            on_error,
            env_vars=env_vars,
            timeout=timeout,
            on_stdout=on_stdout,
            on_stderr=on_stderr,
            on_result=on_result,
        )

    async def _run_code(
        self,
        code: str,
        *,
        language: str,
        env_vars: Mapping[str, str] | None,
        timeout: float | None,
        on_stdout: OutputHandler | None,
        on_stderr: OutputHandler | None,
        on_result: ResultHandler | None,
        on_error: ErrorHandler | None,
    ) -> Execution:
        handlers = {
            "stdout": on_stdout,
            "stderr": on_stderr,
            "result": on_result,
            "error": on_error,
        }
        env = checked_env_vars(env_vars)
        if language == "bash":
            request: dict[str, Any] = {"op": "shell", "args": {"code": code}, "env": env}
            source, store_history = messages.CALL_CODE, False
        else:
            request = {"env": env, "usage": True}
            source, store_history = code, True
        execution = Execution()
        collect = OutputCollector(execution, handlers, self._settings.output_limit)
        async with self._session_turn():
            limit = self._settings.timeout if timeout is None else timeout
            outcome = await self._run(source, request, store_history, limit, collect)
            if isinstance(outcome, ExecutionError):
                execution.error = outcome
                await call_handler(on_error, outcome)
                return execution
            reply, timed_out = outcome
            self._executions += 1
            collect.finish(reply.content, reply.complete)
            if timed_out:
                collect.timed_out(limit)
            self._note_stats(reply.extra)
            execution.peak_memory_bytes = self._stats.get("peak_memory_bytes")
            cpu = reply.extra.get("execution_cpu_seconds")
            if isinstance(cpu, int | float) and not isinstance(cpu, bool):
                execution.cpu_seconds = float(cpu)
            # Errors raised by the code were reported as they came; these are ours.
            reported = execution.error
            if language == "bash":
                self._bash_outcome(execution, reply, timed_out)
            else:
                execution.execution_count = reply.execution_count
                self._check_disk_quota(execution, reply.extra)
            if execution.error is not None and execution.error is not reported and not timed_out:
                await call_handler(on_error, execution.error)
            return execution

    def _bash_outcome(self, execution: Execution, reply: Reply, timed_out: bool) -> None:
        if timed_out:
            assert execution.error is not None
            execution.error.traceback = ""
            return
        error = reply.extra.get("error")
        value = reply.extra.get("value")
        if isinstance(error, dict):
            execution.error = ExecutionError("CommandError", str(error.get("message", "")))
        elif isinstance(value, dict) and isinstance(value.get("exit_code"), int):
            code = value["exit_code"]
            if code != 0:
                execution.error = ExecutionError(SandboxErrorName.COMMAND_EXIT, f"exit code {code}")
        elif execution.error is not None:
            execution.error.traceback = ""

    def _check_disk_quota(self, execution: Execution, extra: dict[str, Any]) -> None:
        used = extra.get("disk_usage")
        quota = self._bootstrap.quota_bytes
        if execution.error is not None or not isinstance(used, int) or used <= quota:
            return
        execution.error = ExecutionError(
            SandboxErrorName.DISK_QUOTA,
            f"the session's files use {used / 2**20:.1f} MiB, over the "
            f"{quota / 2**20:.0f} MiB quota; delete files to free space (new writes may fail)",
        )

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
        execution = Execution()
        handlers = {"stdout": on_stdout, "stderr": on_stderr, "result": None, "error": None}
        collect = OutputCollector(execution, handlers, self._settings.output_limit)
        env = checked_env_vars(env_vars)
        cwd = "/".join(split_path(cwd)) if cwd else None
        request = {"op": "shell", "args": {"code": command, "cwd": cwd}, "env": env}
        async with self._session_turn():
            limit = self._settings.timeout if timeout is None else timeout
            outcome = await self._run(messages.CALL_CODE, request, False, limit, collect)
        stdout, stderr = "".join(execution.logs.stdout), "".join(execution.logs.stderr)
        if isinstance(outcome, ExecutionError):
            return CommandResult(None, stdout, stderr, outcome.value)
        reply, timed_out = outcome
        self._note_stats(reply.extra)
        if timed_out:
            error = f"the command ran past its {limit:g} s time limit and was killed"
            return CommandResult(None, stdout, stderr, error)
        value, refused = reply.extra.get("value"), reply.extra.get("error")
        if isinstance(refused, dict):
            message, where = str(refused.get("message", "")), str(refused.get("path", ""))
            return CommandResult(None, stdout, stderr, f"{message}: {where}" if where else message)
        if isinstance(value, dict) and isinstance(value.get("exit_code"), int):
            return CommandResult(value["exit_code"], stdout, stderr)
        ename = reply.content.get("ename") or "the kernel lost track of the command"
        return CommandResult(None, stdout, stderr, f"{ename}: {reply.content.get('evalue', '')}")

    @contextlib.asynccontextmanager
    async def _session_turn(self) -> Any:
        async with self._lock:
            self._check_open()
            self.busy = True
            try:
                if self._abandoned is not None:
                    # A cancelled execution is still winding down. Shielded: a caller
                    # cancelled while it waits must not cut the wind-down short (the channel
                    # would be left out of step, and every later execution would wait on a
                    # cancelled task).
                    await asyncio.shield(self._abandoned)
                yield
            finally:
                self.busy = False
                self.last_used = time.monotonic()

    async def _run(
        self,
        source: str,
        request: dict[str, Any],
        store_history: bool,
        limit: float,
        collect: OutputCollector,
    ) -> tuple[Reply, bool] | ExecutionError:
        """Run one execute request to its end. Returns the reply and whether it timed out, or
        the error that ended the session's state (restarted) or the session (lost)."""
        try:
            if not self._opened:
                await self._resume()
            if self.kernel.channel.unclaimed_restart:
                await self._recover()
                return self._restarted(
                    "the kernel was restarted since the last execution (it died or was "
                    "restarted by the gateway): variables are gone, files are kept. Nothing "
                    "was run; run the code again."
                )
            stream = self.kernel.stream(
                source, request, store_history=store_history, on_output=collect.apply
            )
            try:
                return await self._pump_with_deadline(stream, limit, collect)
            finally:
                if self._abandoned is None:
                    stream.close()
        except KernelRestarted as exc:
            if exc.dead:
                return self._lose("the gateway could not restart the kernel after it died")
            try:
                await self._recover()
            except (KernelGoneError, _SessionLost) as lost:
                return self._lose(str(lost))
            return self._restarted(
                "the kernel died while running the code (possibly out of memory) and was "
                "restarted: state lost (variables are gone, files are kept)"
            )
        except (KernelGoneError, _SessionLost) as exc:
            return self._lose(str(exc))

    async def _pump_with_deadline(
        self, stream: RequestStream, limit: float, collect: OutputCollector
    ) -> tuple[Reply, bool] | ExecutionError:
        loop = asyncio.get_running_loop()
        try:
            await stream.send()
            try:
                return await stream.pump(loop.time() + limit), False
            except DeadlineReached:
                pass
            await self._interrupt_quietly()
            try:
                return await stream.pump(loop.time() + self._settings.interrupt_grace), True
            except DeadlineReached:
                await self._restart_kernel()
                return self._restarted(
                    f"the code ran past its {limit:g} s time limit and ignored the interrupt, "
                    "so the kernel was restarted: state lost (variables are gone, files are "
                    "kept)"
                )
        except asyncio.CancelledError:
            # The caller went away: stop the code, and follow the request to its end in the
            # background so that the next execution starts on an idle kernel.
            collect.silence()
            self._abandoned = asyncio.get_running_loop().create_task(self._wind_down(stream))
            raise

    async def _interrupt_quietly(self) -> None:
        """Interrupt over REST; a gateway that cannot is answered by the restart that follows
        an ignored interrupt, but a kernel it no longer knows ends the session."""
        try:
            await self.kernel.interrupt()
        except KernelGoneError:
            raise
        except GatewayError as exc:
            log.warning("could not interrupt the kernel of %s: %s", self.sandbox_id, exc)

    async def _wind_down(self, stream: RequestStream) -> None:
        try:
            await self._interrupt_quietly()
            loop = asyncio.get_running_loop()
            try:
                await stream.pump(loop.time() + self._settings.interrupt_grace)
            except DeadlineReached:
                await self._restart_kernel()
        except KernelRestarted:
            await self._recover()
        except (KernelGoneError, _SessionLost) as exc:
            self._lose(str(exc))
        except Exception:
            log.exception("winding down a cancelled execution in %s failed", self.sandbox_id)
        finally:
            stream.close()
            self._abandoned = None

    # --- restarts and losses ---------------------------------------------------------------

    async def _restart_kernel(self) -> None:
        """Restart the kernel over REST and set the session up again in it."""
        await self.kernel.restart()
        await self._recover()

    async def _recover(self) -> None:
        """After the kernel restarted: wait for it, bootstrap it, re-enter the workdir."""
        self.kernel.channel.unclaimed_restart = False
        await self.kernel.wait_ready(self.kernel.settings.kernel_start_timeout)
        await self._bootstrap_kernel()
        opened = await self._open_in_kernel(resume=True)
        if not opened.get("resumed"):
            raise _SessionLost(
                "the kernel was restarted without its working directory (it did not survive "
                "the restart): files are gone too"
            )
        self._generation += 1

    async def open_new(self) -> None:
        """Make the workdir of a new session in its (bootstrapped) kernel and enter it."""
        await self._open_in_kernel(resume=False)

    async def _resume(self) -> None:
        """Set up a session found by id in this process's view of its kernel."""
        try:
            opened = await self._open_in_kernel(resume=True)
        except BootstrapMissing:  # the kernel was restarted since its last session turn
            await self._bootstrap_kernel()
            opened = await self._open_in_kernel(resume=True)
        if not opened.get("resumed"):
            raise _SessionLost(
                "its kernel no longer holds the session's working directory (the kernel was "
                "restarted without it, or is not one of ours)"
            )
        self._opened = True

    async def _bootstrap_kernel(self) -> None:
        await self.kernel.bootstrap(
            self._bootstrap.kernel_config(), self.kernel.settings.kernel_start_timeout
        )

    async def _open_in_kernel(self, *, resume: bool) -> dict[str, Any]:
        opened = await self.kernel.call(
            "open_session",
            sandbox_id=self.sandbox_id,
            session_dir=self._bootstrap.session_dir,
            session=None if resume else self.session,
        )
        opened = opened if isinstance(opened, dict) else {}
        if isinstance(opened.get("session"), dict):
            self.session = opened["session"]
        if opened.get("workdir"):
            self.workdir = str(opened["workdir"])
        return opened

    def _restarted(self, message: str) -> ExecutionError:
        return ExecutionError(SandboxErrorName.RESTARTED, message)

    def _lose(self, reason: str) -> ExecutionError:
        self._lost_reason = reason
        if not self._closed:
            self._closed = True
            # Ends the kernel if the gateway still has it (`dead`); kept so it is not collected.
            self._shutdown = asyncio.get_running_loop().create_task(self.kernel.shutdown())
            if self._on_close is not None:
                self._on_close(self)
        return ExecutionError(
            SandboxErrorName.LOST,
            f"the sandbox session was lost ({reason}): variables and files are gone; a new "
            "session is needed (the conversation's files and steps can be restored into it)",
        )

    async def call(self, op: str, **args: Any) -> Any:
        """A bootstrap operation (used by the files API), in turn with executions."""
        async with self._session_turn():
            try:
                if not self._opened:
                    await self._resume()
                return await self.kernel.call(op, **args)
            except _SessionLost as exc:
                self._lose(str(exc))
                raise SandboxClosedError(f"sandbox {self.sandbox_id} was lost: {exc}") from exc
            except BootstrapMissing:
                pass
            except KernelRestarted as exc:
                if exc.dead:
                    self._lose("the gateway could not restart the kernel after it died")
                    raise SandboxClosedError(f"sandbox {self.sandbox_id} was lost") from exc
            except KernelGoneError as exc:
                self._lose(str(exc))
                raise SandboxClosedError(f"sandbox {self.sandbox_id} was lost: {exc}") from exc
            # The kernel restarted behind our back: set it up again, then retry once.
            try:
                await self._recover()
            except (KernelGoneError, _SessionLost) as exc:
                self._lose(str(exc))
                raise SandboxClosedError(f"sandbox {self.sandbox_id} was lost: {exc}") from exc
            return await self.kernel.call(op, **args)

    def _note_stats(self, extra: dict[str, Any]) -> None:
        for key in ("peak_memory_bytes", "memory_bytes", "cpu_seconds", "pid"):
            if isinstance(extra.get(key), int | float):
                self._stats[key] = extra[key]

    # --- the rest of the interface ---------------------------------------------------------

    async def interrupt(self) -> None:
        self._check_open()
        await self.kernel.interrupt()

    async def restart(self) -> None:
        async with self._session_turn():
            try:
                await self._restart_kernel()
            except (KernelGoneError, _SessionLost) as exc:
                self._lose(str(exc))
                raise SandboxClosedError(f"sandbox {self.sandbox_id} was lost: {exc}") from exc

    def background(self) -> list[asyncio.Task[Any]]:
        """Work of this session still running on its own: a cancelled execution winding
        down, or the kernel shutdown that follows a loss. Both use the provider's REST
        client, so the provider waits for them before it closes that client."""
        tasks = (self._abandoned, self._shutdown)
        return [task for task in tasks if task is not None and not task.done()]

    async def close(self) -> None:
        """End the session for good: its workdir, then its kernel."""
        if self._closed:
            if self._shutdown is not None:  # lost: its kernel is being shut down
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._shutdown)
            return
        self._closed = True
        if self._abandoned is not None:
            self._abandoned.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._abandoned
        if not self.busy:
            with contextlib.suppress(Exception):
                await self.kernel.call("end_session", timeout=self.kernel.settings.request_timeout)
        await self.kernel.shutdown()
        if self._on_close is not None:
            self._on_close(self)

    async def detach(self) -> None:
        """Let go of the session without ending it (another process may go on with it)."""
        if self._closed:
            return
        self._closed = True
        if self._abandoned is not None:  # it would go on using the connection we drop
            self._abandoned.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._abandoned
        await self.kernel.detach()
        if self._on_close is not None:
            self._on_close(self)

    async def info(self) -> SandboxInfo:
        self._check_open()
        if not self.busy and not self._lock.locked():
            with contextlib.suppress(GatewayError, BootstrapMissing, KernelRestarted):
                self._note_stats(await self.kernel.call("hello") or {})
        return SandboxInfo(
            sandbox_id=self.sandbox_id,
            pid=self._stats.get("pid"),
            memory_bytes=int(self._stats.get("memory_bytes") or 0),
            cpu_seconds=float(self._stats.get("cpu_seconds") or 0.0),
            age_seconds=time.monotonic() - self._created,
            executions=self._executions,
            workdir=self.workdir,
            peak_memory_bytes=self._stats.get("peak_memory_bytes"),
        )

    def _check_open(self) -> None:
        if self._closed:
            detail = f": {self._lost_reason}" if self._lost_reason else ""
            raise SandboxClosedError(f"sandbox {self.sandbox_id} is closed{detail}")
