"""Every backend's executions measured in one place: `Sandbox` subclasses get their
`run_code` wrapped (`Sandbox.__init_subclass__`), so no front end (chat, the E2B API, the SDK)
and no backend can run code uncounted."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sandbox_analyst.sandbox.models import Execution, SandboxErrorName
from sandbox_analyst.telemetry import ExecutionFinished, emit
from sandbox_analyst.telemetry.context import execution_purpose

_OUTCOMES = {
    SandboxErrorName.TIMEOUT: "timeout",
    SandboxErrorName.RESTARTED: "restarted",
    SandboxErrorName.LOST: "lost",
    SandboxErrorName.DISK_QUOTA: "disk_quota",
    SandboxErrorName.COMMAND_EXIT: "command_exit",
}

RunCode = Callable[..., Awaitable[Execution]]


def outcome_of(execution: Execution) -> str:
    if execution.error is None:
        return "ok"
    return _OUTCOMES.get(execution.error.name, "error")


def metered(run_code: RunCode, backend: str) -> RunCode:
    """`run_code` that reports an `ExecutionFinished` however it ends."""

    @functools.wraps(run_code)
    async def run(self: Any, code: str, *args: Any, **kwargs: Any) -> Execution:
        started = time.monotonic()
        language = str(kwargs.get("language", "python"))
        purpose = execution_purpose.get()
        try:
            execution = await run_code(self, code, *args, **kwargs)
        except BaseException:
            elapsed = time.monotonic() - started
            emit(ExecutionFinished(backend, language, purpose, "failed", elapsed, None))
            raise
        emit(
            ExecutionFinished(
                backend,
                language,
                purpose,
                outcome_of(execution),
                time.monotonic() - started,
                execution.peak_memory_bytes,
            )
        )
        return execution

    run.__metered__ = True  # type: ignore[attr-defined]
    return run
