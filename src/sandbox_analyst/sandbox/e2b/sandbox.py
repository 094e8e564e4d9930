"""`E2BSandbox`: a session that is one E2B sandbox, driven by E2B's official SDK.

Python runs in the sandbox's code interpreter (its default Python context: variables persist
across calls), and so do SQL cells (DuckDB in that Python); `language="r"` runs in the code
interpreter's default R context; `language="bash"` and `run_command` run through envd's
commands API. The
session's id is the E2B sandbox id, so another server process reaches it with
`E2BProvider.connect(sandbox_id)`.

E2B's API has no call to interrupt code or to ask whether the interpreter was restarted. Code
is stopped (time limit, `interrupt()`, the caller going away) by closing its `/execute` stream,
which makes the interpreter interrupt it. Whether its variables survived is then asked of the
interpreter itself: a marker variable set when the session starts is still there, or it is not
(the interpreter was restarted because the code ignored the interrupt), and the caller is told
which, as every backend tells it. An interpreter that does not answer in time is restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from e2b import (
    CommandExitException,
    NotFoundException,
    SandboxNotFoundException,
    SandboxNotRunningException,
)
from e2b_code_interpreter import AsyncSandbox

from sandbox_analyst.config import E2BBackendSettings, SandboxSettings
from sandbox_analyst.sandbox.base import (
    LANGUAGES,
    ErrorHandler,
    OutputHandler,
    ResultHandler,
    Sandbox,
    call_handler,
    checked_env_vars,
    checked_language,
)
from sandbox_analyst.sandbox.e2b.errors import E2BError, E2BSandboxGone, is_sdk_error, translate
from sandbox_analyst.sandbox.e2b.files import HOME, E2BFiles
from sandbox_analyst.sandbox.e2b.outputs import OutputCollector
from sandbox_analyst.sandbox.errors import FileAccessError, SandboxClosedError
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

MARKER = "__sandbox_analyst_session__"
SET_MARKER = f"{MARKER} = True"
ASK_MARKER = f"print({MARKER!r} in globals())"
# Beyond the interrupt grace, how long an interpreter may take to answer after its code was
# stopped (a restarted one has to start first) before it is restarted from here.
ANSWER_SLACK = 15.0


class E2BSandbox(Sandbox):
    backend = "e2b"

    def __init__(
        self,
        sdk: AsyncSandbox,
        settings: SandboxSettings,
        *,
        on_close: Callable[[E2BSandbox], None] | None = None,
        fresh: bool = False,
    ) -> None:
        """`fresh`: just created here, so its interpreter has no marker yet."""
        self.sdk = sdk
        self.sandbox_id = sdk.sandbox_id
        self.files = E2BFiles(self)
        self.workdir = HOME
        self._settings = settings
        self._e2b: E2BBackendSettings = settings.e2b
        self._on_close = on_close
        self._lock = asyncio.Lock()
        self._generation = 0
        self._executions = 0
        self._created = time.monotonic()
        self._extended = time.monotonic()
        self._closed = False
        self._lost_reason: str | None = None
        self._marked = not fresh
        self._context_id: str | None = None
        self._running: asyncio.Task[Any] | None = None
        self._interrupted = False
        self.last_used = time.monotonic()
        self.busy = False

    @property
    def languages(self) -> tuple[str, ...]:
        return LANGUAGES

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def closed(self) -> bool:
        return self._closed

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
        env = checked_env_vars(env_vars)
        handlers = {"stdout": on_stdout, "stderr": on_stderr, "result": on_result}
        execution = Execution()
        collect = OutputCollector(execution, handlers, self._settings.output_limit)
        limit = self._settings.timeout if timeout is None else timeout
        async with self._turn():
            try:
                if language == "bash":
                    await self._bash(code, env, limit, collect)
                else:
                    await self._interpreter(code, language, env, limit, collect)
            except E2BSandboxGone as exc:
                execution.error = self._lose(str(exc))
        collect.finish()
        if execution.error is not None:
            await call_handler(on_error, execution.error)
        return execution

    async def _interpreter(
        self, code: str, language: str, env: dict[str, str], limit: float, collect: OutputCollector
    ) -> None:
        """Python (an SQL cell is Python too) in the default context, or R in E2B's own R
        context (its code interpreter runs R)."""
        if not self._marked:
            await self._mark()
        run = asyncio.get_running_loop().create_task(
            self.sdk.run_code(
                code,
                language="r" if language == "r" else None,
                envs=env or None,
                timeout=0,  # the time limit is kept here, so that the stop can be followed
                on_stdout=collect.stdout,
                on_stderr=collect.stderr,
                on_result=collect.result,
                on_error=collect.error,
            )
        )
        sdk_execution = await self._follow(run, limit, collect)
        if sdk_execution is None:  # stopped: the outcome is what the interpreter kept
            collect.execution.error = await self._after_stop(limit)
            return
        self._executions += 1
        count = sdk_execution.execution_count
        collect.execution.execution_count = count if isinstance(count, int) else None

    async def _follow(self, run: asyncio.Task[Any], limit: float, collect: OutputCollector) -> Any:
        """The SDK call's result; None when it was stopped (time limit or `interrupt()`).
        Cancelling the caller stops it too (closing the stream interrupts the code)."""
        self._running, self._interrupted = run, False
        try:
            done, _ = await asyncio.wait({run}, timeout=limit)
        except asyncio.CancelledError:
            collect.silent = True
            run.cancel()
            raise
        finally:
            self._running = None
        if not done:
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await run
            return None
        if run.cancelled():
            return None  # interrupt()
        exc = run.exception()
        if exc is not None:
            raise await self._explain(exc, "run code")
        return run.result()

    async def _after_stop(self, limit: float) -> ExecutionError:
        """What became of the interpreter's state once its code was stopped."""
        interrupted = self._interrupted
        kept = await self._state_kept()
        if not kept:
            self._generation += 1
            cause = "was interrupted" if interrupted else f"ran past its {limit:g} s time limit"
            return ExecutionError(
                SandboxErrorName.RESTARTED,
                f"the code {cause} and ignored the interrupt, so the interpreter was "
                "restarted: state lost (variables are gone, files are kept)",
            )
        if interrupted:
            return ExecutionError("KeyboardInterrupt", "the execution was interrupted")
        return ExecutionError.timed_out(limit)

    async def _state_kept(self) -> bool:
        """Whether the interpreter still holds the session's variables (after a stop). One
        that does not answer in time is restarted: its state is lost either way."""
        deadline = self._settings.interrupt_grace + ANSWER_SLACK
        try:
            async with asyncio.timeout(deadline):
                answer = await self.sdk.run_code(ASK_MARKER, timeout=0)
        except TimeoutError:
            await self._restart_interpreter()
            return False
        except Exception as exc:
            raise await self._explain(exc, "ask the interpreter about its state") from exc
        kept = "".join(answer.logs.stdout).strip() == "True"
        if not kept:
            await self._mark()
        return kept

    async def _mark(self) -> None:
        try:
            await self.sdk.run_code(SET_MARKER, timeout=self._e2b.request_timeout)
        except Exception as exc:
            raise await self._explain(exc, "prepare the interpreter") from exc
        self._marked = True

    async def _bash(
        self, code: str, env: dict[str, str], limit: float, collect: OutputCollector
    ) -> None:
        result = await self._shell(code, None, env, limit, collect)
        execution = collect.execution
        if result.exit_code is None:
            if result.error and "time limit" in result.error:
                execution.error = ExecutionError(SandboxErrorName.TIMEOUT, result.error)
            else:
                execution.error = ExecutionError("CommandError", result.error or "")
        elif result.exit_code != 0:
            execution.error = ExecutionError(
                SandboxErrorName.COMMAND_EXIT, f"exit code {result.exit_code}"
            )
        self._executions += 1

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
        directory = "/".join([HOME, *split_path(cwd)]) if cwd else None
        execution = Execution()
        handlers = {"stdout": on_stdout, "stderr": on_stderr}
        collect = OutputCollector(execution, handlers, self._settings.output_limit)
        limit = self._settings.timeout if timeout is None else timeout
        async with self._turn():
            try:
                result = await self._shell(command, directory, env, limit, collect)
            except E2BSandboxGone as exc:
                lost = self._lose(str(exc))
                result = CommandResult(None, error=lost.value)
        collect.finish()
        result.stdout = "".join(execution.logs.stdout)
        result.stderr = "".join(execution.logs.stderr)
        return result

    async def _shell(
        self,
        command: str,
        cwd: str | None,
        env: dict[str, str],
        limit: float,
        collect: OutputCollector,
    ) -> CommandResult:
        """Run `command` through envd; a time limit or cancellation kills it. Output is in
        `collect`; the result's stdout/stderr are left for the caller to fill."""
        try:
            handle = await self.sdk.commands.run(
                command,
                background=True,
                envs=env or None,
                cwd=cwd,
                on_stdout=collect.stdout,
                on_stderr=collect.stderr,
                timeout=0,  # the time limit is kept here, and kills the command
            )
        except (SandboxNotFoundException, SandboxNotRunningException) as exc:
            raise await self._explain(exc, "start a command") from exc
        except Exception as exc:
            if not is_sdk_error(exc):
                raise
            where = f" in {cwd[len(HOME) + 1 :] or '.'}" if cwd else ""
            return CommandResult(None, error=f"the command could not start{where}: {exc}")
        waiting = asyncio.get_running_loop().create_task(handle.wait())
        try:
            done, _ = await asyncio.wait({waiting}, timeout=limit)
        except asyncio.CancelledError:
            collect.silent = True
            await asyncio.shield(self._kill(handle, waiting))
            raise
        if not done:
            await self._kill(handle, waiting)
            error = f"the command ran past its {limit:g} s time limit and was killed"
            return CommandResult(None, error=error)
        exc = waiting.exception()
        if isinstance(exc, CommandExitException):
            if exc.exit_code < 0:  # envd's word for "ended without an exit code of its own"
                where = f" (in {cwd[len(HOME) + 1 :] or '.'})" if cwd else ""
                reason = exc.error or f"exit status {exc.exit_code}"
                return CommandResult(None, error=f"the command did not run{where}: {reason}")
            return CommandResult(exc.exit_code)
        if exc is not None:
            raise await self._explain(exc, "run a command")
        return CommandResult(waiting.result().exit_code)

    async def _kill(self, handle: Any, waiting: asyncio.Task[Any]) -> None:
        with contextlib.suppress(Exception):
            await handle.kill()
        # Its end event follows the kill; past the grace, stop listening for it.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self._settings.interrupt_grace):
                await asyncio.shield(waiting)
        if not waiting.done():
            with contextlib.suppress(Exception):
                await handle.disconnect()

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        async with self._lock:
            self._check_open()
            self.busy = True
            try:
                await self._keep_alive()
                yield
            finally:
                self.busy = False
                self.last_used = time.monotonic()

    async def _keep_alive(self) -> None:
        """Push the sandbox's end back while it is used: E2B kills a sandbox `timeout` seconds
        after its creation (or the last extension) whatever it is doing."""
        if time.monotonic() - self._extended < self._e2b.timeout / 3:
            return
        try:
            await self.sdk.set_timeout(self._e2b.timeout)
        except Exception as exc:
            raise await self._explain(exc, "extend the sandbox's timeout") from exc
        self._extended = time.monotonic()

    # --- files -----------------------------------------------------------------------------

    def sdk_files(self) -> Any:
        self._check_open()
        return self.sdk.files

    @contextlib.asynccontextmanager
    async def file_call(self, doing: str, *, missing: str | None = None) -> AsyncIterator[None]:
        """Translate what the SDK raises during a file operation; `missing` names what a
        not-found answer means ("no such file")."""
        try:
            yield
        except (SandboxNotFoundException, SandboxNotRunningException) as exc:
            lost = self._lose(str(exc))
            raise SandboxClosedError(f"cannot {doing}: {lost.value}") from exc
        except NotFoundException as exc:
            subject = doing.split(" ", 1)[-1]
            raise FileAccessError(f"{missing or 'not found'}: {subject}") from exc
        except Exception as exc:
            if not is_sdk_error(exc):
                raise
            error = await self._explain(exc, doing)
            if isinstance(error, E2BSandboxGone):
                lost = self._lose(str(error))
                raise SandboxClosedError(f"cannot {doing}: {lost.value}") from exc
            raise error from exc

    # --- the rest of the interface ---------------------------------------------------------

    async def interrupt(self) -> None:
        """Stop the running Python code (closing its stream interrupts it). A command is
        not interrupted: it has its own time limit."""
        self._check_open()
        if self._running is not None and not self._running.done():
            self._interrupted = True
            self._running.cancel()

    async def restart(self) -> None:
        async with self._turn():
            await self._restart_interpreter()

    async def _restart_interpreter(self) -> None:
        try:
            await self.sdk.restart_code_context(await self._python_context())
        except Exception as exc:
            raise await self._explain(exc, "restart the interpreter") from exc
        self._generation += 1
        await self._mark()

    async def _python_context(self) -> str:
        """The interpreter's default Python context (E2B lists it first among its Python
        contexts; this backend creates no other)."""
        if self._context_id is None:
            contexts = await self.sdk.list_code_contexts()
            python = [context.id for context in contexts if context.language == "python"]
            if not python:
                raise E2BSandboxGone("the sandbox's code interpreter has no Python context")
            self._context_id = python[0]
        return self._context_id

    async def close(self) -> None:
        """End the session for good: kill the E2B sandbox."""
        if self._closed:
            return
        self._closed = True
        if self._running is not None:
            self._running.cancel()
        try:
            await self.sdk.kill()
        except Exception as exc:
            log.warning("could not kill E2B sandbox %s: %s", self.sandbox_id, exc)
        finally:
            if self._on_close is not None:
                self._on_close(self)

    def detach(self) -> None:
        """Let go of the session without ending it (another process may go on with it)."""
        if self._closed:
            return
        self._closed = True
        if self._on_close is not None:
            self._on_close(self)

    async def info(self) -> SandboxInfo:
        """What E2B's metrics say (sampled memory; E2B reports CPU as a percentage, not
        seconds, and no process id). A server without metrics leaves memory at 0."""
        self._check_open()
        memory = 0
        with contextlib.suppress(Exception):
            metrics = await self.sdk.get_metrics()
            if metrics:
                memory = int(metrics[-1].mem_used)
        return SandboxInfo(
            sandbox_id=self.sandbox_id,
            pid=None,
            memory_bytes=memory,
            cpu_seconds=0.0,
            age_seconds=time.monotonic() - self._created,
            executions=self._executions,
            workdir=self.workdir,
            peak_memory_bytes=None,
        )

    # --- helpers ---------------------------------------------------------------------------

    async def _explain(self, exc: BaseException, doing: str) -> Exception:
        """`_translated`, and for a failure that may mean the sandbox is gone (E2B answers a
        request for a killed sandbox with 502, which the SDK raises as a timeout), a check."""
        error = self._translated(exc, doing)
        if isinstance(error, E2BError) and not isinstance(error, E2BSandboxGone):
            with contextlib.suppress(Exception):
                if not await self.sdk.is_running():
                    return E2BSandboxGone(f"the E2B sandbox is no longer running ({exc})")
        return error

    def _translated(self, exc: BaseException, doing: str) -> Exception:
        if isinstance(exc, SandboxNotFoundException | SandboxNotRunningException):
            return E2BSandboxGone(f"the E2B sandbox is no longer running ({exc})")
        if not is_sdk_error(exc):
            return exc if isinstance(exc, Exception) else RuntimeError(str(exc))
        return translate(exc, doing)

    def _lose(self, reason: str) -> ExecutionError:
        self._lost_reason = reason
        if not self._closed:
            self._closed = True
            if self._on_close is not None:
                self._on_close(self)
        return ExecutionError(
            SandboxErrorName.LOST,
            f"the sandbox session was lost ({reason}): variables and files are gone; a new "
            "session is needed (the conversation's files and steps can be restored into it)",
        )

    def _check_open(self) -> None:
        if self._closed:
            detail = f": {self._lost_reason}" if self._lost_reason else ""
            raise SandboxClosedError(f"sandbox {self.sandbox_id} is closed{detail}")
