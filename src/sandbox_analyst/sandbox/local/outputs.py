"""`OutputCollector`: a cell's or command's frames from a local worker, folded into an
`Execution` while the caller's callbacks fire as they arrive."""

from __future__ import annotations

from typing import Any

from sandbox_analyst.sandbox.base import call_handler
from sandbox_analyst.sandbox.local.disk_watch import DiskWatch
from sandbox_analyst.sandbox.models import Execution, ExecutionError, Result, SandboxErrorName


class OutputCollector:
    """Builds an `Execution` from frames and fires the caller's callbacks as they arrive."""

    def __init__(
        self,
        execution: Execution,
        handlers: dict[str, Any],
        limit: int,
        disk: DiskWatch | None = None,
    ) -> None:
        self.execution = execution
        self.handlers = handlers
        self.limit = limit
        self.disk = disk
        self.kept = 0
        self.silent = False
        self.exit_code: int | None = None  # of a command
        self.command_error: str | None = None  # why a command did not finish

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
            await self._result(frame.get("bundle"), bool(frame.get("main")))
        elif kind == "error":
            error = ExecutionError(
                name=str(frame.get("name", "Error")),
                value=str(frame.get("value", "")),
                traceback=str(frame.get("traceback", "")),
            )
            over = self.disk.exceeded if self.disk is not None else None
            if over is not None and error.name == "KeyboardInterrupt":  # our interrupt
                error = ExecutionError(
                    SandboxErrorName.DISK_QUOTA,
                    f"{over.describe()}: the code was interrupted, its state is kept; delete "
                    "files to free space",
                    error.traceback,
                )
            self.execution.error = error
            await self._emit("error", error)
        elif kind == "done":
            count = frame.get("execution_count")
            self.execution.execution_count = count if isinstance(count, int) else None
            peak = frame.get("peak_memory")  # the worker's word: kept only if it is plausible
            plausible = isinstance(peak, int) and not isinstance(peak, bool) and peak >= 0
            self.execution.peak_memory_bytes = peak if plausible else None
            cpu = frame.get("cpu_seconds")
            plausible = isinstance(cpu, int | float) and not isinstance(cpu, bool) and cpu >= 0
            self.execution.cpu_seconds = float(cpu) if plausible else None
            code = frame.get("exit_code")
            self.exit_code = code if isinstance(code, int) else None
            error = frame.get("error")
            self.command_error = str(error) if error is not None else None
            dropped = frame.get("dropped")
            if isinstance(dropped, int) and dropped > 0:
                note = f"[output truncated: {dropped} more bytes were not kept]\n"
                self.execution.logs.stderr.append(note)
            return True
        return False

    def command_failure(self) -> str | None:
        """Why a command failed, as `ExecutionError.value`; None if it exited with 0."""
        if self.command_error is not None:
            return self.command_error
        if self.exit_code is None:
            return "the command did not report an exit code"
        if self.exit_code < 0:
            return f"killed by signal {-self.exit_code}"
        return None if self.exit_code == 0 else f"exit code {self.exit_code}"

    async def _result(self, bundle: Any, main: bool) -> None:
        notes: list[str] = []
        if not isinstance(bundle, dict):
            notes.append("it is not a MIME bundle")
            result = None
        else:
            result = Result.from_bundle(bundle, is_main_result=main, notes=notes)
        if notes:
            # Told like any other stderr output (and capped like it), so the caller sees it.
            notes_text = "".join(f"[a displayed output was not kept whole: {n}]\n" for n in notes)
            text = self._within_limit(notes_text)
            if text:
                self.execution.logs.stderr.append(text)
                await self._emit("stderr", text)
        if result is not None and result.formats():
            self.execution.results.append(result)
            await self._emit("result", result)

    def timed_out(self, limit: float) -> None:
        self.execution.error = ExecutionError.timed_out(
            limit, self.execution.error.traceback if self.execution.error else ""
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
            await call_handler(self.handlers[kind], payload)
