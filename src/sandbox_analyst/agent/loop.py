"""`Agent`: the ReAct loop. The model thinks, calls tools, reads their observations and answers;
every step goes to the caller's event sink while it happens."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sandbox_analyst.agent.artifacts import ArtifactSink
from sandbox_analyst.agent.config import AgentConfig, DataFile
from sandbox_analyst.agent.events import (
    ErrorCode,
    ErrorEvent,
    EventSink,
    FinalEvent,
    TokenEvent,
    ToolResultEvent,
)
from sandbox_analyst.agent.figures import FigureNamer
from sandbox_analyst.agent.preview import FilePreview, PreviewError, is_data_file, preview_files
from sandbox_analyst.agent.prompts import FINAL_WITHOUT_TOOLS, system_prompt
from sandbox_analyst.agent.tools import PREVIEW_FILE, Toolbox, ToolRegistry, builtin_tools
from sandbox_analyst.agent.transcript import as_plain_text
from sandbox_analyst.llm import (
    LLM,
    ChatMessage,
    LLMError,
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
class _Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}


@dataclass
class _Turn:
    """What one turn has built so far."""

    conversation: list[ChatMessage]  # everything sent to the model
    added: list[ChatMessage]  # what this turn contributes to the stored history
    results: list[ToolResultEvent]
    usage: _Usage

    def add(self, message: ChatMessage) -> None:
        self.conversation.append(message)
        self.added.append(message)

    def final(self, content: str, status: str) -> FinalEvent:
        return FinalEvent(content, status, self.usage.as_dict(), list(self.added))


class Agent:
    def __init__(
        self,
        llm: LLM,
        sandbox: Sandbox,
        artifacts: ArtifactSink,
        config: AgentConfig,
        *,
        tools: ToolRegistry | None = None,
    ) -> None:
        """`tools`: what the model may call (default: `builtin_tools()`)."""
        self.llm = llm
        self.sandbox = sandbox
        self.artifacts = artifacts
        self.config = config
        self.tools = tools if tools is not None else builtin_tools()

    async def run(
        self,
        history: list[ChatMessage],
        user_message: str,
        files: list[DataFile],
        emit: EventSink,
    ) -> FinalEvent:
        """Run one turn: each step goes to `emit` as it happens; returns how the turn ended.
        `history`: earlier turns without a system message. Cancelling the call cancels the
        turn, running code included (it is interrupted; the session keeps its state)."""
        turn = _Turn([], [], [], _Usage())
        figures = FigureNamer.after(await self.artifacts.saved_names())
        saved = await self.artifacts.saved_usage()
        toolbox = Toolbox(self.tools, self.sandbox, self.artifacts, self.config, figures, saved)
        budget = asyncio.timeout(self.config.turn_timeout)
        try:
            async with budget:
                prompt = await self._system_prompt(history, files)
                turn.conversation += [
                    ChatMessage("system", prompt),
                    *history,
                    ChatMessage("user", user_message),
                ]
                return await self._loop(turn, toolbox, emit)
        except TimeoutError:
            if not budget.expired():
                raise
            return await self._out_of_time(turn, toolbox, emit)
        except LLMError as exc:
            await emit(ErrorEvent(str(exc), ErrorCode.LLM_ERROR))
            return turn.final("", "failed")

    async def _loop(self, turn: _Turn, toolbox: Toolbox, emit: EventSink) -> FinalEvent:
        for _ in range(self.config.max_iterations):
            text, calls = await self._ask(turn, self.tools.specs() or None, emit)
            turn.add(ChatMessage("assistant", text, tool_calls=calls))
            if not calls:
                return turn.final(text, "complete")
            for call in calls:
                result = await toolbox.call(call, emit)
                turn.results.append(result)
                turn.add(ChatMessage("tool", result.observation, tool_call_id=call.id))
        return await self._finish_without_tools(turn, emit)

    async def _ask(
        self,
        turn: _Turn,
        tools: list[ToolSpec] | None,
        emit: EventSink,
        *,
        nudge: str | None = None,
    ) -> tuple[str, list[ToolCall]]:
        """One model call: streams its text as tokens, returns the text and the tool calls.
        With a `nudge` (a closing instruction), the conversation goes as plain text."""
        messages = turn.conversation
        if nudge is not None:
            messages = as_plain_text([*messages, ChatMessage("user", nudge)])
        text: list[str] = []
        calls: list[ToolCall] = []
        events = self.llm.stream(messages, tools)
        try:
            async for event in events:
                if isinstance(event, TextDelta):
                    text.append(event.text)
                    await emit(TokenEvent(event.text))
                elif isinstance(event, ModelToolCall):
                    calls.append(event.call)
                elif isinstance(event, UsageEvent):
                    turn.usage.input_tokens += event.input_tokens
                    turn.usage.output_tokens += event.output_tokens
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()
        return "".join(text), calls

    async def _finish_without_tools(self, turn: _Turn, emit: EventSink) -> FinalEvent:
        """The steps are spent: one last model call, offered no tools, explains the state."""
        steps = self.config.max_iterations
        message = f"stopped after {steps} steps without a final answer"
        await emit(ErrorEvent(message, ErrorCode.MAX_ITERATIONS))
        try:
            # The nudge is not kept in the history: it speaks for the agent, not the user.
            text, _ = await self._ask(turn, None, emit, nudge=FINAL_WITHOUT_TOOLS)
        except LLMError as exc:
            log.warning("the closing call after %d steps failed: %s", steps, exc)
            text = ""
        if not text.strip():
            text = _composed_summary(f"I stopped after {steps} steps", turn.results)
        turn.add(ChatMessage("assistant", text))
        return turn.final(text, "max_iterations")

    async def _out_of_time(self, turn: _Turn, toolbox: Toolbox, emit: EventSink) -> FinalEvent:
        limit = self.config.turn_timeout
        reason = f"the turn ran out of its {limit:g} s time budget"
        interrupted = toolbox.interrupted(reason + "; the code was interrupted")
        if interrupted is not None:
            await emit(interrupted)
            turn.results.append(interrupted)
        # Every tool call the model made needs an answer, or the history cannot be sent again.
        last = next((m for m in reversed(turn.added) if m.role == "assistant"), None)
        answered = {m.tool_call_id for m in turn.added if m.role == "tool"}
        for call in last.tool_calls if last is not None else []:
            if call.id in answered:
                continue
            if interrupted is not None and call.id == interrupted.call_id:
                content = interrupted.observation
            else:
                content = f"Not run: {reason}."
            turn.add(ChatMessage("tool", content, tool_call_id=call.id))
        opening = f"I ran out of the {limit:g} s allowed for this message"
        text = _composed_summary(opening, turn.results)
        turn.add(ChatMessage("assistant", text))
        await emit(ErrorEvent(reason, ErrorCode.TURN_TIMEOUT))
        return turn.final(text, "timeout")

    async def _system_prompt(self, history: list[ChatMessage], files: list[DataFile]) -> str:
        previewed_before = _previewed_paths(history)
        wanted = [
            file.path
            for file in files
            if is_data_file(file.path) and file.path not in previewed_before
        ][:_MAX_PROMPT_PREVIEWS]
        previews: dict[str, FilePreview] = {}
        if wanted:
            timeout = min(_PROMPT_PREVIEW_TIMEOUT, self.config.code_timeout)
            try:
                found = await preview_files(self.sandbox, wanted, full=False, timeout=timeout)
            except (PreviewError, SandboxError) as exc:
                # The model can still list and preview the files itself.
                log.warning("could not preview the uploaded files: %s", exc)
                found = []
            previews = {preview.path: preview for preview in found}
        return system_prompt(self.config, files, previews, previewed_before, self.tools)


def _previewed_paths(history: list[ChatMessage]) -> set[str]:
    """Files whose full preview (a `preview_file` call) is already in the conversation."""
    return {
        call.arguments["path"]
        for message in history
        if message.role == "assistant"
        for call in message.tool_calls
        if call.name == PREVIEW_FILE and isinstance(call.arguments.get("path"), str)
    }


def _composed_summary(opening: str, results: list[ToolResultEvent]) -> str:
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
