"""What E2B streams while code runs, folded into our `Execution` as it arrives.

The SDK builds its own execution object only once the stream ends; a run that we stop (time
limit, interrupt, the caller going away) never gets one. So everything is collected from the
SDK's callbacks, checked the way every backend checks a MIME bundle, and capped at the
session's output limit.
"""

from __future__ import annotations

from typing import Any

from e2b_code_interpreter import ExecutionError as SDKExecutionError
from e2b_code_interpreter import OutputMessage
from e2b_code_interpreter import Result as SDKResult

from sandbox_analyst.sandbox.base import call_handler
from sandbox_analyst.sandbox.models import MIME_FIELDS, Execution, ExecutionError, Result

# Our `Result` field -> the MIME type it stands for (E2B names its fields as we do).
_MIME_OF_FIELD = {name: mime for mime, name in MIME_FIELDS.items()}


def to_result(sdk_result: SDKResult, notes: list[str] | None = None) -> Result:
    """An E2B result as ours. E2B's `chart` (data it extracted from a matplotlib figure) has
    no place in our model: the figure itself arrives as `png`."""
    bundle: dict[str, Any] = {}
    for name, mime in _MIME_OF_FIELD.items():
        value = getattr(sdk_result, name, None)
        if value is not None:
            bundle[mime] = value
    extra = getattr(sdk_result, "extra", None)
    if isinstance(extra, dict):
        for mime, value in extra.items():
            bundle.setdefault(str(mime), value)
    result = Result.from_bundle(bundle, is_main_result=bool(sdk_result.is_main_result), notes=notes)
    data = getattr(sdk_result, "data", None)
    if isinstance(data, dict):
        result.data = data
    return result


def to_error(sdk_error: SDKExecutionError) -> ExecutionError:
    return ExecutionError(
        name=str(sdk_error.name), value=str(sdk_error.value), traceback=sdk_error.traceback or ""
    )


class OutputCollector:
    """Receives the SDK's callbacks for one run and hands them on to the caller's."""

    def __init__(self, execution: Execution, handlers: dict[str, Any], limit: int) -> None:
        self.execution = execution
        self.handlers = handlers
        self.limit = limit
        self.kept = 0
        self.dropped = 0
        self.notes: list[str] = []
        self.silent = False  # set once the run is abandoned: the caller hears nothing more

    async def stdout(self, message: OutputMessage | str) -> None:
        await self._log("stdout", str(message))

    async def stderr(self, message: OutputMessage | str) -> None:
        await self._log("stderr", str(message))

    async def result(self, sdk_result: SDKResult) -> None:
        result = to_result(sdk_result, self.notes)
        self.execution.results.append(result)
        await self._emit("result", result)

    async def error(self, sdk_error: SDKExecutionError) -> None:
        # Reported once the stream ends, with the execution: see `finish`.
        self.execution.error = to_error(sdk_error)

    def finish(self) -> None:
        """Notes on what was not kept, as the other backends add them."""
        if self.dropped:
            self.execution.logs.stderr.append(
                f"[output truncated: {self.dropped} more characters were not kept]\n"
            )
        for note in self.notes:
            self.execution.logs.stderr.append(f"[{note}]\n")

    async def _log(self, name: str, text: str) -> None:
        room = self.limit - self.kept
        if room <= 0:
            self.dropped += len(text)
            return
        if len(text) > room:
            self.dropped += len(text) - room
            text = text[:room]
        self.kept += len(text)
        getattr(self.execution.logs, name).append(text)
        await self._emit(name, text)

    async def _emit(self, kind: str, payload: Any) -> None:
        if not self.silent:
            await call_handler(self.handlers.get(kind), payload)
