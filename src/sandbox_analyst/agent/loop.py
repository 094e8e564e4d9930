"""`Agent`: the ReAct loop. The model thinks, calls tools, reads their observations and answers;
every step goes to the caller's event sink while it happens."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sandbox_analyst.agent.artifacts import ArtifactSink
from sandbox_analyst.agent.config import AgentConfig, DataFile
from sandbox_analyst.agent.events import ErrorCode, ErrorEvent, EventSink, FinalEvent
from sandbox_analyst.agent.figures import FigureNamer
from sandbox_analyst.agent.prompts import FINAL_WITHOUT_TOOLS, system_prompt
from sandbox_analyst.agent.steps import (
    Allowance,
    TurnLog,
    ask_model,
    composed_summary,
    prompt_previews,
    spent,
    stopped_reply,
)
from sandbox_analyst.agent.tools import Toolbox, ToolRegistry, builtin_tools
from sandbox_analyst.llm import LLM, ChatMessage, LLMError, ToolCall, ToolSpec
from sandbox_analyst.sandbox import Sandbox

log = logging.getLogger(__name__)

SystemPrompt = Callable[[AgentConfig, list[DataFile], ToolRegistry], str]
"""Writes the system prompt of an agent that is not the analyst (a task's coding agent)."""


class Agent:
    def __init__(
        self,
        llm: LLM,
        sandbox: Sandbox,
        artifacts: ArtifactSink,
        config: AgentConfig,
        *,
        tools: ToolRegistry | None = None,
        prompt: SystemPrompt | None = None,
        allowance: Allowance | None = None,
    ) -> None:
        """`tools`: what the model may call (default: `builtin_tools()` in the sandbox's
        languages); `prompt`: the
        system prompt's writer (default: the analyst's, with previews of the data files);
        `allowance`: asked after each model call and tool call whether the turn may go on."""
        self.llm = llm
        self.sandbox = sandbox
        self.artifacts = artifacts
        self.config = config
        self.tools = tools if tools is not None else builtin_tools(sandbox.languages)
        self.prompt = prompt
        self.allowance = allowance

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
        turn = TurnLog()
        figures = FigureNamer.after(await self.artifacts.saved_names())
        saved = await self.artifacts.saved_usage()
        toolbox = Toolbox(self.tools, self.sandbox, self.artifacts, self.config, figures, saved)
        toolbox.state.list_ahead(self.sandbox)
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
        finally:
            toolbox.state.close()

    async def _loop(self, turn: TurnLog, toolbox: Toolbox, emit: EventSink) -> FinalEvent:
        for _ in range(self.config.max_iterations):
            text, calls = await self._ask(turn, self.tools.specs() or None, emit)
            turn.add(ChatMessage("assistant", text, tool_calls=calls))
            if not calls:
                return turn.final(text, "complete")
            if (reason := await spent(self.allowance, turn)) is not None:
                return await self._stopped(turn, reason, emit)
            for call in calls:
                result = await toolbox.call(call, emit)
                turn.results.append(result)
                turn.add(ChatMessage("tool", result.observation, tool_call_id=call.id))
                if (reason := await spent(self.allowance, turn)) is not None:
                    return await self._stopped(turn, reason, emit)
        return await self._finish_without_tools(turn, emit)

    async def _stopped(self, turn: TurnLog, reason: str, emit: EventSink) -> FinalEvent:
        """The allowance is spent: the turn ends here, keeping what it did and said."""
        await emit(ErrorEvent(reason, ErrorCode.QUOTA_EXCEEDED))
        turn.answer_open_calls(reason, None)
        text = stopped_reply(turn, reason)
        turn.add(ChatMessage("assistant", text))
        return turn.final(text, "quota_exceeded")

    async def _ask(
        self,
        turn: TurnLog,
        tools: list[ToolSpec] | None,
        emit: EventSink,
        *,
        nudge: str | None = None,
    ) -> tuple[str, list[ToolCall]]:
        return await ask_model(self.llm, turn.conversation, tools, emit, turn.usage, nudge=nudge)

    async def _finish_without_tools(self, turn: TurnLog, emit: EventSink) -> FinalEvent:
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
            text = composed_summary(f"I stopped after {steps} steps", turn.results)
        turn.add(ChatMessage("assistant", text))
        return turn.final(text, "max_iterations")

    async def _out_of_time(self, turn: TurnLog, toolbox: Toolbox, emit: EventSink) -> FinalEvent:
        limit = self.config.turn_timeout
        reason = f"the turn ran out of its {limit:g} s time budget"
        interrupted = toolbox.interrupted(reason + "; the code was interrupted")
        if interrupted is not None:
            await emit(interrupted)
            turn.results.append(interrupted)
        turn.answer_open_calls(reason, interrupted)
        opening = f"I ran out of the {limit:g} s allowed for this message"
        text = composed_summary(opening, turn.results)
        turn.add(ChatMessage("assistant", text))
        await emit(ErrorEvent(reason, ErrorCode.TURN_TIMEOUT))
        return turn.final(text, "timeout")

    async def _system_prompt(self, history: list[ChatMessage], files: list[DataFile]) -> str:
        if self.prompt is not None:
            return self.prompt(self.config, files, self.tools)
        previews, previewed_before = await prompt_previews(
            self.sandbox, self.config, history, files
        )
        return system_prompt(self.config, files, previews, previewed_before, self.tools)
