"""`SandboxManager`: one stateful, isolated sandbox, wherever it lives.

    async with SandboxManager(env_vars={"STAGE": "test"}, timeout=60) as sm:
        await sm.execute_code("python", "import pandas as pd; df = pd.DataFrame({'x': [1, 2]})")
        result = await sm.execute_code("python", "df.x.sum()")   # result.text == "3"
        listing = await sm.execute_code("bash", "ls -la")        # listing.exit_code == 0

The sandbox starts on entry and ends on exit, also when the block raises or is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import uuid
from collections.abc import Coroutine, Mapping
from types import TracebackType

from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox.base import (
    ErrorHandler,
    OutputHandler,
    ResultHandler,
    Sandbox,
    checked_env_vars,
    checked_language,
)
from sandbox_analyst.sandbox.provider import SandboxProvider, SessionSpec
from sandbox_analyst.sdk.errors import (
    SandboxNotStartedError,
    SandboxStartRefusedError,
    SandboxStartRetriesExhaustedError,
)
from sandbox_analyst.sdk.files import SandboxFileSystem
from sandbox_analyst.sdk.location import Location, resolve_location
from sandbox_analyst.sdk.results import ExecutionResult, ResourceUsage
from sandbox_analyst.sdk.retry import RetryPolicy, is_transient
from sandbox_analyst.sdk.runtime import Runtime, open_runtime

log = logging.getLogger(__name__)


class SandboxManager:
    """A sandbox: a Python interpreter whose variables persist across `execute_code` calls,
    bash commands in the same working directory, files, and resource figures.

    `template`: the sandbox environment (None: the default one). `env_vars`: variables every
    execution of this sandbox sees; nothing of this process's own environment reaches the
    sandbox (no API key, no setting) unless it is given here. `timeout`: seconds one
    execution may run unless the call says otherwise (None: the backend's default,
    `sandbox.timeout`); code over its limit is interrupted and the sandbox keeps its state.

    Where the sandbox lives (see `sandbox_analyst.sdk.location`): `backend="local"` (the
    default: this process, no server), `"server"` (a Sandbox Analyst server: `server_url=`,
    `api_key=`, or `ANALYST_E2B_URL`, `ANALYST_API_KEY`), `"e2b"` (E2B; `api_key=` or
    `E2B_API_KEY`), `"gateway"`. `settings`: the effective settings to use instead of
    `analyst.yaml` and `ANALYST_*`. `retry`: how a start that fails for a temporary reason is
    tried again (`RetryPolicy(attempts=1)`: never).
    """

    def __init__(
        self,
        template: str | None = None,
        env_vars: Mapping[str, str] | None = None,
        timeout: float | None = None,
        *,
        backend: str | None = None,
        server_url: str | None = None,
        api_key: str | None = None,
        settings: Settings | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        self.template = template
        self.timeout = timeout
        self._env_vars = checked_env_vars(env_vars)
        self.location: Location = resolve_location(
            backend=backend, server_url=server_url, api_key=api_key, settings=settings
        )
        self.retry = retry or RetryPolicy()
        self._purpose = uuid.uuid4().hex  # this manager's session among the shared ones
        self._runtime: Runtime | None = None
        self._sandbox: Sandbox | None = None
        self._lifecycle = asyncio.Lock()
        self.files = SandboxFileSystem(self._live_sandbox)

    @property
    def backend(self) -> str:
        """Where the sandbox lives: "local", "server", "e2b" or "gateway"."""
        return self.location.backend

    @property
    def started(self) -> bool:
        return self._sandbox is not None and not self._sandbox.closed

    @property
    def sandbox_id(self) -> str:
        return self._live_sandbox().sandbox_id

    @property
    def provider(self) -> SandboxProvider:
        """The provider the sandbox comes from (local: shared by the managers open in this
        event loop with the same settings)."""
        if self._runtime is None:
            raise SandboxNotStartedError("the sandbox manager is not started")
        return self._runtime.provider

    async def __aenter__(self) -> SandboxManager:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> SandboxManager:
        """Start the sandbox (nothing to do if it runs). A start that fails for a temporary
        reason is tried again with backoff as `retry` allows, then
        `SandboxStartRetriesExhaustedError`; one that cannot succeed raises
        `SandboxStartRefusedError` at once. A manager that was closed starts a new sandbox."""
        async with self._lifecycle:
            if self.started:
                return self
            if self._sandbox is not None:  # it ended under us (e.g. the backend lost it)
                await self._shut()
            try:
                self._sandbox = await self._start_with_retries()
            except BaseException:
                await _finish(self._shut())  # no provider reference outlives a failed start
                raise
        return self

    async def close(self) -> None:
        """End the sandbox for good, files included. Idempotent; finishes even when the
        calling task is cancelled meanwhile (then re-raises the cancellation)."""
        async with self._lifecycle:
            await _finish(self._shut())

    async def execute_code(
        self,
        language: str,
        code: str,
        *,
        timeout: float | None = None,
        env_vars: Mapping[str, str] | None = None,
        on_stdout: OutputHandler | None = None,
        on_stderr: OutputHandler | None = None,
        on_result: ResultHandler | None = None,
        on_error: ErrorHandler | None = None,
    ) -> ExecutionResult:
        """Run `code` and wait for it; output streams to the callbacks (plain functions or
        coroutines) while it runs.

        `"python"`: in the sandbox's interpreter, whose state persists; rich results
        (`on_result`, `ExecutionResult.results`). `"sql"`: DuckDB over the working
        directory's files, the result as a DataFrame (`_sql` in Python afterwards). `"r"`: in
        the session's R process (local backend with R installed), plots as PNG results.
        `"bash"`: `bash -c CODE` in the sandbox's working directory (the one Python's
        relative paths use), with its `exit_code`.
        `env_vars` are added for this one call. Failures of the code are in `.error`, never
        raised; a call with arguments no sandbox can run raises `SandboxUsageError`."""
        checked = checked_language(language)
        extra_env = checked_env_vars(env_vars) or None
        sandbox = self._live_sandbox()
        limit = self.timeout if timeout is None else timeout
        if checked != "bash":
            execution = await sandbox.run_code(
                code,
                language=checked,
                env_vars=extra_env,
                timeout=limit,
                on_stdout=on_stdout,
                on_stderr=on_stderr,
                on_result=on_result,
                on_error=on_error,
            )
            return ExecutionResult.from_execution(execution, checked)
        command = await sandbox.run_command(
            code, env_vars=extra_env, timeout=limit, on_stdout=on_stdout, on_stderr=on_stderr
        )
        result = ExecutionResult.from_command(command)
        if result.error is not None and on_error is not None:
            outcome = on_error(result.error)
            if inspect.isawaitable(outcome):
                await outcome
        return result

    async def info(self) -> ResourceUsage:
        """CPU time, memory now and at its peak, uptime: for watching what the code uses."""
        return ResourceUsage.from_info(await self._live_sandbox().info())

    async def interrupt(self) -> None:
        """Interrupt the Python code running now (KeyboardInterrupt); the state is kept."""
        await self._live_sandbox().interrupt()

    async def restart(self) -> None:
        """A fresh interpreter: variables are gone, files are kept."""
        await self._live_sandbox().restart()

    def _live_sandbox(self) -> Sandbox:
        if self._sandbox is None:
            raise SandboxNotStartedError(
                "the sandbox manager is not started: use `async with SandboxManager(...) as "
                "sm` or `await sm.start()`"
            )
        return self._sandbox

    async def _start_with_retries(self) -> Sandbox:
        where = self.location.describe()
        delays = self.retry.delays()
        attempts = 0
        while True:
            attempts += 1
            try:
                return await self._start_once()
            except Exception as exc:
                if not is_transient(exc):
                    raise SandboxStartRefusedError(
                        f"could not start a sandbox on {where}: {exc}", attempts=attempts
                    ) from exc
                delay = next(delays, None)
                if delay is None:
                    raise SandboxStartRetriesExhaustedError(
                        f"could not start a sandbox on {where} in {attempts} attempts; the "
                        f"last one failed with: {exc}",
                        attempts=attempts,
                    ) from exc
                log.info("starting a sandbox failed (%s); trying again in %.1f s", exc, delay)
                await self._drop_runtime()  # the next attempt starts the provider afresh
                await asyncio.sleep(delay)

    async def _start_once(self) -> Sandbox:
        if self._runtime is None:
            self._runtime = await open_runtime(self.location)
        runtime = self._runtime
        spec = SessionSpec(template=self.template, env_vars=self._env_vars)
        opening = asyncio.ensure_future(runtime.open(spec, self._purpose))
        try:
            return await asyncio.shield(opening)
        except asyncio.CancelledError:
            # A sandbox half made when the caller gave up must not outlive the manager.
            with contextlib.suppress(Exception):
                await runtime.end(self._purpose, await opening)
            raise

    async def _shut(self) -> None:
        sandbox, self._sandbox = self._sandbox, None
        try:
            if sandbox is not None and self._runtime is not None:
                await self._runtime.end(self._purpose, sandbox)
        finally:
            await self._drop_runtime()

    async def _drop_runtime(self) -> None:
        runtime, self._runtime = self._runtime, None
        if runtime is not None:
            await runtime.release()


async def _finish(step: Coroutine[object, object, None]) -> None:
    """Await `step` to its end even if the caller is cancelled meanwhile; the cancellation is
    re-raised once it is done."""
    task = asyncio.ensure_future(step)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise
