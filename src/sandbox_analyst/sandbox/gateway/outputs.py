"""Jupyter output messages folded into an `Execution`, with the caller's callbacks fired as
they arrive: the same model the local backend builds from its worker's frames."""

from __future__ import annotations

from typing import Any

from sandbox_analyst.sandbox.base import call_handler
from sandbox_analyst.sandbox.gateway import messages
from sandbox_analyst.sandbox.models import Execution, ExecutionError, Result


class OutputCollector:
    def __init__(self, execution: Execution, handlers: dict[str, Any], limit: int) -> None:
        self.execution = execution
        self.handlers = handlers
        self.limit = limit
        self.kept = 0
        self.dropped = 0
        self.silent = False
        self._displays: dict[str, int] = {}  # display_id -> index in results

    def silence(self) -> None:
        self.silent = True

    async def apply(self, message: dict[str, Any]) -> None:
        kind = messages.msg_type(message)
        content = message.get("content") or {}
        if kind == "stream":
            name = "stderr" if content.get("name") == "stderr" else "stdout"
            text = self._within_limit(str(content.get("text", "")))
            if text:
                getattr(self.execution.logs, name).append(text)
                await self._emit(name, text)
        elif kind in ("display_data", "execute_result", "update_display_data"):
            await self._result(kind, content)
        elif kind == "error":
            error = ExecutionError(
                name=str(content.get("ename", "Error")),
                value=str(content.get("evalue", "")),
                traceback=messages.plain_traceback(content.get("traceback")),
            )
            self.execution.error = error
            await self._emit("error", error)
        # clear_output, execute_input, comm traffic: nothing for a list of results

    async def _result(self, kind: str, content: dict[str, Any]) -> None:
        bundle = content.get("data")
        if not isinstance(bundle, dict) or not bundle:
            return
        result = Result.from_bundle(bundle, is_main_result=kind == "execute_result")
        transient = content.get("transient")
        display_id = transient.get("display_id") if isinstance(transient, dict) else None
        if kind == "update_display_data":
            index = self._displays.get(str(display_id))
            if index is None:
                return  # updates a display of an earlier execution: not part of this one
            self.execution.results[index] = result
        else:
            if display_id is not None:
                self._displays[str(display_id)] = len(self.execution.results)
            self.execution.results.append(result)
        await self._emit("result", result)

    def finish(self, reply_content: dict[str, Any], complete: bool) -> None:
        """Fold in what only the execute reply says (or that part of it was lost)."""
        if reply_content.get("status") == "error" and self.execution.error is None:
            self.execution.error = ExecutionError(
                name=str(reply_content.get("ename", "Error")),
                value=str(reply_content.get("evalue", "")),
                traceback=messages.plain_traceback(reply_content.get("traceback")),
            )
        if self.dropped:
            self.execution.logs.stderr.append(
                f"[output truncated: {self.dropped} more characters were not kept]\n"
            )
        if not complete or not reply_content:
            self.execution.logs.stderr.append(
                "[the connection to the gateway dropped during this execution; some of its "
                "output may be missing]\n"
            )

    def timed_out(self, limit: float) -> None:
        self.execution.error = ExecutionError.timed_out(
            limit, self.execution.error.traceback if self.execution.error else ""
        )

    def _within_limit(self, text: str) -> str:
        room = self.limit - self.kept
        if room <= 0:
            self.dropped += len(text)
            return ""
        if len(text) > room:
            self.dropped += len(text) - room
            text = text[:room]
        self.kept += len(text)
        return text

    async def _emit(self, kind: str, payload: Any) -> None:
        if not self.silent:
            await call_handler(self.handlers.get(kind), payload)
