"""The step machinery a turn is made of, shared by the single agent (`Agent`) and a team
(`Team`): what the turn has built so far, one model call streamed as tokens, the previews the
system prompt shows, the tool calls left unanswered when time ran out, and the closing message
composed without the model."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sandbox_analyst.agent.config import AgentConfig, DataFile
from sandbox_analyst.agent.events import EventSink, FinalEvent, TokenEvent, ToolResultEvent
from sandbox_analyst.agent.preview import FilePreview, PreviewError, is_data_file, preview_files
from sandbox_analyst.agent.tools import PREVIEW_FILE
from sandbox_analyst.agent.transcript import as_plain_text
from sandbox_analyst.llm import (
    LLM,
    ChatMessage,
    TextDelta,
    ToolCall,
    ToolSpec,
    UsageEvent,
)
from sandbox_analyst.llm import ToolCallEvent as ModelToolCall
from sandbox_analyst.sandbox import Sandbox, SandboxError

log = logging.getLogger(__name__)

_MAX_PROMPT_PREVIEWS = 20  # quick previews per turn; more files are listed without one
_PROMPT_PREVIEW_TIMEOUT = 30.0


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens

    def as_dict(self) -> dict[str, int]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}


Allowance = Callable[[Usage], Awaitable[str | None]]
"""Asked after each model call and each tool call of a turn, with the turn's token use so far:
why the turn must stop now (e.g. the user's quota ran out), or None to go on. The turn then
ends with an `ErrorEvent` of code `QUOTA_EXCEEDED`, keeping what it did."""


async def spent(allowance: Allowance | None, turn: TurnLog) -> str | None:
    """Why the turn must stop (`allowance`'s answer), or None."""
    return None if allowance is None else await allowance(turn.usage)


def stopped_reply(turn: TurnLog, reason: str) -> str:
    """The reply of a turn stopped by its allowance: what the model said so far, and why it
    stopped."""
    said = [m.content for m in turn.added if m.role == "assistant" and m.content.strip()]
    return "\n\n".join([*said, f"(Stopped: {reason}.)"])


@dataclass
class TurnLog:
    """What one turn has built so far."""

    conversation: list[ChatMessage] = field(default_factory=list)  # sent to the model
    added: list[ChatMessage] = field(default_factory=list)  # this turn's part of the history
    results: list[ToolResultEvent] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)

    def add(self, message: ChatMessage) -> None:
        self.conversation.append(message)
        self.added.append(message)

    def final(
        self, content: str, status: str, *, stop_reason: str | None = None, agent: str | None = None
    ) -> FinalEvent:
        return FinalEvent(
            content, status, self.usage.as_dict(), list(self.added), stop_reason, agent
        )

    def answer_open_calls(self, reason: str, interrupted: ToolResultEvent | None) -> None:
        """Every tool call of the last model call gets an answer (the one cut short gets its
        partial result), or the history could not be sent to a model again."""
        last = next((m for m in reversed(self.added) if m.role == "assistant"), None)
        answered = {m.tool_call_id for m in self.added if m.role == "tool"}
        for call in last.tool_calls if last is not None else []:
            if call.id in answered:
                continue
            if interrupted is not None and call.id == interrupted.call_id:
                content = interrupted.observation
            else:
                content = f"Not run: {reason}."
            self.add(ChatMessage("tool", content, tool_call_id=call.id))


async def ask_model(
    llm: LLM,
    messages: list[ChatMessage],
    tools: list[ToolSpec] | None,
    emit: EventSink,
    usage: Usage,
    *,
    nudge: str | None = None,
) -> tuple[str, list[ToolCall]]:
    """One model call: streams its text as tokens, returns the text and the tool calls.
    With a `nudge` (a closing instruction), the conversation goes as plain text."""
    if nudge is not None:
        messages = as_plain_text([*messages, ChatMessage("user", nudge)])
    text: list[str] = []
    calls: list[ToolCall] = []
    events = llm.stream(messages, tools)
    try:
        async for event in events:
            if isinstance(event, TextDelta):
                text.append(event.text)
                await emit(TokenEvent(event.text))
            elif isinstance(event, ModelToolCall):
                calls.append(event.call)
            elif isinstance(event, UsageEvent):
                usage.input_tokens += event.input_tokens
                usage.output_tokens += event.output_tokens
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()
    return "".join(text), calls


async def prompt_previews(
    sandbox: Sandbox, config: AgentConfig, history: list[ChatMessage], files: list[DataFile]
) -> tuple[dict[str, FilePreview], set[str]]:
    """Quick previews of the uploaded data files the conversation has not previewed yet, and
    the paths it already holds a full preview of."""
    previewed_before = previewed_paths(history)
    wanted = [
        file.path for file in files if is_data_file(file.path) and file.path not in previewed_before
    ][:_MAX_PROMPT_PREVIEWS]
    if not wanted:
        return {}, previewed_before
    timeout = min(_PROMPT_PREVIEW_TIMEOUT, config.code_timeout)
    try:
        found = await preview_files(sandbox, wanted, full=False, timeout=timeout)
    except (PreviewError, SandboxError) as exc:
        # The model can still list and preview the files itself.
        log.warning("could not preview the uploaded files: %s", exc)
        found = []
    return {preview.path: preview for preview in found}, previewed_before


def previewed_paths(history: list[ChatMessage]) -> set[str]:
    """Files whose full preview (a `preview_file` call) is already in the conversation."""
    return {
        call.arguments["path"]
        for message in history
        if message.role == "assistant"
        for call in message.tool_calls
        if call.name == PREVIEW_FILE and isinstance(call.arguments.get("path"), str)
    }


def composed_summary(opening: str, results: list[ToolResultEvent]) -> str:
    """A closing message written without the model, from what the tool calls reported."""
    failed = [result for result in results if not result.success]
    lines = [
        f"{opening} before reaching a final answer. {len(results)} tool call(s) ran, "
        f"{len(failed)} failed."
    ]
    if failed and failed[-1].error:
        error = failed[-1].error
        lines.append(f"The last failure was {error['name']}: {error['value']}")
    lines.append("Ask again with a narrower question, or continue from here.")
    return "\n".join(lines)
