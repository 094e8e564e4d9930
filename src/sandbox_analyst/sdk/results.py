"""What `SandboxManager.execute_code` and `SandboxManager.info` return: one result type for
both languages, and a sandbox's resource use."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox_analyst.sandbox.base import Language
from sandbox_analyst.sandbox.models import (
    CommandResult,
    Execution,
    ExecutionError,
    Result,
    SandboxErrorName,
    SandboxInfo,
)


@dataclass(frozen=True)
class ExecutionResult:
    """One run of code in the sandbox.

    `stdout` / `stderr` hold everything the code printed (they were also streamed to the
    callbacks while it ran). `error` is None when the code succeeded; otherwise the
    exception it raised (python: e.g. `ZeroDivisionError`, with its traceback), or for bash
    `CommandExitError` with the exit status, or a sandbox failure named as in
    `SandboxErrorName` (`TimeoutError`: interrupted at its time limit, state kept;
    `SandboxRestarted`: the interpreter was lost, variables gone, files kept).

    Python only: `results` (rich outputs: the last expression's value, `display()`, charts
    as base64 PNG...) and `execution_count`. Bash only: `exit_code` (None if the command
    did not finish: it was killed at its time limit, or the session was lost).
    """

    language: Language
    stdout: str = ""
    stderr: str = ""
    error: ExecutionError | None = None
    results: list[Result] = field(default_factory=list)
    exit_code: int | None = None
    execution_count: int | None = None
    peak_memory_bytes: int | None = None  # the session's peak so far, when the backend tells
    cpu_seconds: float | None = None  # CPU time the python code used, when the backend tells

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def text(self) -> str | None:
        """Text of the main result (python: the value of the last expression), if any."""
        for result in self.results:
            if result.is_main_result:
                return result.text
        return None

    @property
    def state_lost(self) -> bool:
        """The interpreter had to be replaced: variables are gone (files are kept)."""
        return self.error is not None and self.error.name in (
            SandboxErrorName.RESTARTED,
            SandboxErrorName.LOST,
        )

    @classmethod
    def from_execution(cls, execution: Execution, language: Language = "python") -> ExecutionResult:
        return cls(
            language=language,
            stdout="".join(execution.logs.stdout),
            stderr="".join(execution.logs.stderr),
            error=execution.error,
            results=list(execution.results),
            execution_count=execution.execution_count,
            peak_memory_bytes=execution.peak_memory_bytes,
            cpu_seconds=execution.cpu_seconds,
        )

    @classmethod
    def from_command(cls, command: CommandResult) -> ExecutionResult:
        error = None
        if command.exit_code is None:
            why = command.error or "the command did not finish"
            error = ExecutionError(SandboxErrorName.COMMAND_EXIT, why)
        elif command.exit_code < 0:
            error = ExecutionError(
                SandboxErrorName.COMMAND_EXIT, f"killed by signal {-command.exit_code}"
            )
        elif command.exit_code:
            error = ExecutionError(SandboxErrorName.COMMAND_EXIT, f"exit code {command.exit_code}")
        return cls(
            language="bash",
            stdout=command.stdout,
            stderr=command.stderr,
            error=error,
            exit_code=command.exit_code,
        )


@dataclass(frozen=True)
class ResourceUsage:
    """What a sandbox uses now: `memory_bytes` resident now, `peak_memory_bytes` the most it
    held (None when the backend cannot tell), `cpu_seconds` consumed by its interpreter,
    `uptime_seconds` since it started, `executions` run so far."""

    sandbox_id: str
    cpu_seconds: float
    memory_bytes: int
    peak_memory_bytes: int | None
    uptime_seconds: float
    executions: int

    @classmethod
    def from_info(cls, info: SandboxInfo) -> ResourceUsage:
        return cls(
            sandbox_id=info.sandbox_id,
            cpu_seconds=info.cpu_seconds,
            memory_bytes=info.memory_bytes,
            peak_memory_bytes=info.peak_memory_bytes,
            uptime_seconds=info.age_seconds,
            executions=info.executions,
        )
