"""Persists a chat turn step by step as its events arrive, so that a crash mid-turn loses
nothing that was already shown: the assistant message (created as `streaming`) gets its text,
tool calls, results and artifacts as they happen, and each piece of code that ran is appended
to the execution log (code, status, duration, memory, outputs cut to a bounded size).
Everything it stores comes from the events: it never asks the sandbox.

Text streams in many small tokens; it is written out at least every `TOKEN_FLUSH_S` seconds
and with the next step's own write, rather than once per token. Each step costs one write of
the message (a result of code, two: the execution log and the message).
"""

from __future__ import annotations

import time
from typing import Any

from sandbox_analyst.agent import (
    ArtifactEvent,
    ErrorEvent,
    ResultEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from sandbox_analyst.llm import ChatMessage
from sandbox_analyst.sandbox import SandboxErrorName
from sandbox_analyst.service.chat.history import (
    result_entry,
    tool_call_entry,
    tool_result_entry,
    with_steps,
)
from sandbox_analyst.service.conversations import (
    ConversationService,
    MessageStatus,
    execution_entry,
)
from sandbox_analyst.store import Execution

TOKEN_FLUSH_S = 0.25
STORED_OUTPUT_LIMIT = 64 * 1024  # characters of stdout / stderr kept per execution


class TurnRecorder:
    def __init__(
        self,
        conversations: ConversationService,
        *,
        owner_id: str,
        conversation_id: str,
        message_id: str,
    ) -> None:
        self._conversations = conversations
        self._owner_id = owner_id
        self._conversation_id = conversation_id
        self.message_id = message_id
        self.content = ""
        self.error: str | None = None
        self.tool_calls: list[dict[str, Any]] = []
        self.tool_results: list[dict[str, Any]] = []
        self.artifact_ids: list[str] = []
        self._artifacts_by_call: dict[str, list[str]] = {}
        self._results_by_call: dict[str, list[dict[str, Any]]] = {}
        self._running_code: dict[str, str] = {}  # call id -> code, until its result arrives
        self._unsaved_text = ""
        self._last_flush = time.monotonic()

    async def record(self, event: object) -> None:
        """Store what `event` adds to the turn."""
        if isinstance(event, TokenEvent):
            self.content += event.text
            self._unsaved_text += event.text
            if time.monotonic() - self._last_flush >= TOKEN_FLUSH_S:
                await self._update()
            return
        if isinstance(event, ToolCallEvent):
            self.tool_calls.append(tool_call_entry(event))
            if event.code is not None:
                self._running_code[event.call_id] = event.code
            await self._update(tool_calls=self.tool_calls)
        elif isinstance(event, ArtifactEvent):
            self.artifact_ids.append(event.artifact.file_id)
            self._artifacts_by_call.setdefault(event.call_id, []).append(event.artifact.file_id)
            await self._update(artifact_ids=self.artifact_ids)
        elif isinstance(event, ResultEvent):
            # Kept in memory until the call's result arrives: one write per call, not per output.
            stored = result_entry(event)
            if stored is not None:
                self._results_by_call.setdefault(event.call_id, []).append(stored)
        elif isinstance(event, ToolResultEvent):
            self._running_code.pop(event.call_id, None)
            artifacts = self._artifacts_by_call.get(event.call_id, [])
            results = self._results_by_call.pop(event.call_id, [])
            self.tool_results.append(tool_result_entry(event, artifacts, results))
            execution = self._execution(event) if event.code is not None else None
            await self._update(tool_results=self.tool_results, execution=execution)
        elif isinstance(event, ErrorEvent):
            self.error = event.message
            await self._update(error=self.error)

    async def finish(
        self,
        status: MessageStatus,
        *,
        content: str | None,
        usage: dict[str, Any],
        duration: float,
        turn: list[ChatMessage],
        stop_reason: str | None = None,
        agent: str | None = None,
    ) -> None:
        """The turn is over: final text, status, usage, why it stopped and (in team mode) the
        role that answered; code cut off mid-run is logged."""
        for code in self._running_code.values():
            await self._conversations.append_execution(
                self._conversation_id,
                self._owner_id,
                code=code,
                status="cancelled" if status == "cancelled" else "error",
                message_id=self.message_id,
            )
        self._running_code.clear()
        if content is not None:
            self.content = content
        self._unsaved_text = ""
        if turn:
            self.tool_calls = with_steps(self.tool_calls, turn)
        await self._update(
            content=self.content,
            status=status,
            tool_calls=self.tool_calls,
            usage={**usage, "duration_s": round(duration, 4)},
            error=self.error,
            stop_reason=stop_reason,
            agent=agent,
        )

    async def _update(self, **changes: Any) -> None:
        """Write `changes` to the message, with the text not yet written."""
        if self._unsaved_text:
            changes["append_content"], self._unsaved_text = self._unsaved_text, ""
        self._last_flush = time.monotonic()
        if changes:
            await self._conversations.update_message(self.message_id, **changes)

    def _execution(self, event: ToolResultEvent) -> Execution:
        """The execution log's entry for the code `event` ran."""
        stdout, stdout_cut = _bounded(event.stdout)
        stderr, stderr_cut = _bounded(event.stderr)
        return execution_entry(
            self._conversation_id,
            self._owner_id,
            code=event.code or "",
            status=execution_status(event),
            duration_s=event.duration,
            peak_memory_bytes=event.peak_memory_bytes,
            cpu_seconds=event.cpu_seconds,
            stdout=stdout,
            stderr=stderr,
            error=event.error,
            truncated=stdout_cut or stderr_cut,
            message_id=self.message_id,
        )


def execution_status(event: ToolResultEvent) -> str:
    """ "ok" (replayed when the sandbox is rebuilt), "error", "timeout" or "lost"."""
    if event.state_lost:
        return "lost"
    if event.error is None:
        return "ok" if event.success else "error"
    if event.error.get("name") == SandboxErrorName.TIMEOUT:
        return "timeout"
    return "error"


def _bounded(text: str) -> tuple[str, bool]:
    if len(text) <= STORED_OUTPUT_LIMIT:
        return text, False
    half = STORED_OUTPUT_LIMIT // 2
    return text[:half] + "\n[... output cut ...]\n" + text[-half:], True
