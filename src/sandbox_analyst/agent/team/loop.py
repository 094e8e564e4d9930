"""`Team`: several roles answering one user message in one conversation and one sandbox, the
speaker changing at each handoff (an AutoGen-Swarm style team in our own agent layer).

    team = Team(llm, sandbox, artifacts, AgentConfig(...), default_team())
    final = await team.run(history, "Generate 100 points ...", files, on_event)

It is the single agent's loop (`agent/steps.py`: one model call at a time, tool calls run by a
`Toolbox`) with a speaker: each model call is made as the current role (its own system prompt,
its own tools, the shared conversation), every event it causes carries the role's name in
`agent`, and a successful `transfer_to_<Role>` call moves the conversation to that role. All
roles' toolboxes share one tool state, so figure numbering and repeated-failure counts hold
across roles. The turn ends as `termination.StopReason` says.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field

from sandbox_analyst.agent.artifact_limits import ArtifactBudget, ArtifactUsage
from sandbox_analyst.agent.artifacts import ArtifactSink
from sandbox_analyst.agent.config import AgentConfig, DataFile
from sandbox_analyst.agent.events import (
    AgentEvent,
    ErrorCode,
    ErrorEvent,
    EventSink,
    FinalEvent,
    HandoffEvent,
)
from sandbox_analyst.agent.figures import FigureNamer
from sandbox_analyst.agent.steps import (
    Allowance,
    TurnLog,
    ask_model,
    composed_summary,
    prompt_previews,
    spent,
    stopped_reply,
)
from sandbox_analyst.agent.team.handoff import (
    handoff_reason,
    handoff_target,
    handoff_tool_name,
    handoff_tools,
)
from sandbox_analyst.agent.team.prompts import role_prompt
from sandbox_analyst.agent.team.spec import MCP_TOOLS, Role, TeamSpec
from sandbox_analyst.agent.team.termination import (
    REPEATED_FAILURE_LIMIT,
    HandoffGuard,
    StopReason,
    TerminateFilter,
    without_terminate,
)
from sandbox_analyst.agent.tools import (
    MCP_TOOL_PREFIX,
    Toolbox,
    ToolRegistry,
    TurnState,
    analyst_tools,
)
from sandbox_analyst.llm import LLM, ChatMessage, LLMError, ToolCall
from sandbox_analyst.sandbox import Sandbox

_LIMIT_CODES = {
    StopReason.MAX_MESSAGES: ErrorCode.MAX_MESSAGES,
    StopReason.TOKEN_BUDGET: ErrorCode.TOKEN_BUDGET,
    StopReason.HANDOFF_LOOP: ErrorCode.HANDOFF_LOOP,
    StopReason.REPEATED_FAILURE: ErrorCode.REPEATED_FAILURE,
    StopReason.QUOTA_EXCEEDED: ErrorCode.QUOTA_EXCEEDED,
}
AUTOMATIC_HANDOFF_REASON = "finished its part without handing off"


@dataclass
class _Seat:
    """A role as this turn runs it: what it is offered, what answers its calls, its prompt."""

    role: Role
    offered: ToolRegistry
    toolbox: Toolbox
    prompt: str = ""


@dataclass
class _Progress:
    """How far this turn has gone."""

    messages: int = 0  # model replies so far
    guard: HandoffGuard = field(default_factory=HandoffGuard)
    ended: StopReason | None = None  # set when the turn is answered
    speaker: str = ""


class _Stop(Exception):
    def __init__(self, reason: StopReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Team:
    def __init__(
        self,
        llm: LLM,
        sandbox: Sandbox,
        artifacts: ArtifactSink,
        config: AgentConfig,
        spec: TeamSpec,
        *,
        tools: ToolRegistry | None = None,
        allowance: Allowance | None = None,
    ) -> None:
        """`tools`: the registry the roles' tools come from (default: `analyst_tools()` in
        the sandbox's languages); a
        tool a role names that it lacks is left out. `allowance`: as for `Agent`."""
        self.llm = llm
        self.sandbox = sandbox
        self.artifacts = artifacts
        self.config = config
        self.spec = spec
        self.tools = tools if tools is not None else analyst_tools(sandbox.languages)
        self.allowance = allowance

    async def run(
        self,
        history: list[ChatMessage],
        user_message: str,
        files: list[DataFile],
        emit: EventSink,
    ) -> FinalEvent:
        """Run one turn, like `Agent.run`: each step goes to `emit` (with `agent` set) as it
        happens; returns how the turn ended. Cancelling the call cancels the turn."""
        turn = TurnLog()
        figures = FigureNamer.after(await self.artifacts.saved_names())
        saved = await self.artifacts.saved_usage()
        budget = ArtifactBudget(self.config.artifact_limits, saved)
        state = TurnState(figures, self.sandbox.generation, budget)
        state.list_ahead(self.sandbox)
        seats = {role.name: self._seat(role, state, saved) for role in self.spec.roles}
        progress = _Progress(speaker=self.spec.entry.name)
        timeout = self.spec.timeout or self.config.turn_timeout
        clock = asyncio.timeout(timeout)
        try:
            async with clock:
                previews, previewed = await prompt_previews(
                    self.sandbox, self.config, history, files
                )
                for seat in seats.values():
                    seat.prompt = role_prompt(
                        self.spec, seat.role, self.config, seat.offered, files, previews, previewed
                    )
                turn.conversation += [*history, ChatMessage("user", user_message)]
                while progress.ended is None:
                    await self._step(turn, seats[progress.speaker], state, progress, emit)
                text = turn.added[-1].content
                return turn.final(
                    text, "complete", stop_reason=progress.ended, agent=progress.speaker
                )
        except _Stop as stop:
            return await self._stopped(turn, progress.speaker, stop, emit)
        except TimeoutError:
            if not clock.expired():
                raise
            return await self._out_of_time(turn, seats[progress.speaker], timeout, emit)
        except LLMError as exc:
            speaker = progress.speaker
            await emit(ErrorEvent(str(exc), ErrorCode.LLM_ERROR, agent=speaker))
            return turn.final("", "failed", stop_reason=StopReason.FAILED, agent=speaker)
        finally:
            state.close()

    def _seat(self, role: Role, state: TurnState, saved: ArtifactUsage) -> _Seat:
        offered_handoffs, answering_handoffs = handoff_tools(self.spec, role)
        names = [name for name in role.tools if name in self.tools]
        if MCP_TOOLS in role.tools:
            names += [name for name in self.tools.names() if name.startswith(MCP_TOOL_PREFIX)]
        own = self.tools.subset(names)
        offered = ToolRegistry([*own, *offered_handoffs])
        answering = ToolRegistry([*own, *answering_handoffs])
        toolbox = Toolbox(
            answering, self.sandbox, self.artifacts, self.config, state.figures, saved, state=state
        )
        return _Seat(role, offered, toolbox)

    async def _step(
        self, turn: TurnLog, seat: _Seat, state: TurnState, progress: _Progress, emit: EventSink
    ) -> None:
        """One model reply as `seat`'s role and its tool calls; `progress` gets the next
        speaker, or how the turn ended (its answer last in `turn.added`). `_Stop` at a limit
        or a guard."""
        self._check_limits(turn, progress)
        role = seat.role
        sink = _Speaking(role.name, emit)
        shown = TerminateFilter(sink) if role.can_terminate else sink
        messages = [ChatMessage("system", seat.prompt), *turn.conversation]
        text, calls = await ask_model(
            self.llm, messages, seat.offered.specs() or None, shown, turn.usage
        )
        if isinstance(shown, TerminateFilter):
            await shown.flush()
        progress.messages += 1
        text, terminated = without_terminate(text) if role.can_terminate else (text, False)
        if terminated or (not calls and (role.can_terminate or not role.handoffs)):
            _answer_calls_not_run(turn, calls, "the team's answer was final")
            turn.add(ChatMessage("assistant", text))
            progress.ended = StopReason.TERMINATE if terminated else StopReason.FINAL_ANSWER
            return
        guard = progress.guard
        if not calls:
            # A role that may not end said its piece: the conversation goes back, as if it
            # had handed off itself (so the stored turn holds who spoke and where it went).
            guard.progress()
            calls = [_automatic_handoff(role)]
        turn.add(ChatMessage("assistant", text, tool_calls=calls))
        await self._check_allowance(turn)
        following: str | None = None
        for call in calls:
            if following is not None:
                content = f"Not run: the conversation was handed to {following}."
                turn.add(ChatMessage("tool", content, tool_call_id=call.id))
                continue
            result = await seat.toolbox.call(call, sink)
            turn.results.append(result)
            turn.add(ChatMessage("tool", result.observation, tool_call_id=call.id))
            await self._check_allowance(turn)
            target = handoff_target(call)
            if target is None:
                guard.progress()
                if max(state.failures.values(), default=0) >= REPEATED_FAILURE_LIMIT:
                    raise _Stop(
                        StopReason.REPEATED_FAILURE,
                        f"the same code failed {REPEATED_FAILURE_LIMIT} times",
                    )
            elif result.success:
                await sink(HandoffEvent(call.id, target, handoff_reason(call)))
                if guard.is_loop(role.name, target):
                    raise _Stop(
                        StopReason.HANDOFF_LOOP,
                        f"{role.name} handed off to {target} again without any progress",
                    )
                following = target
        progress.speaker = following or role.name

    def _check_limits(self, turn: TurnLog, progress: _Progress) -> None:
        spec = self.spec
        if progress.messages >= spec.max_messages:
            raise _Stop(StopReason.MAX_MESSAGES, f"the team used all {spec.max_messages} messages")
        if spec.token_budget is not None and turn.usage.total >= spec.token_budget:
            raise _Stop(
                StopReason.TOKEN_BUDGET,
                f"the team used {turn.usage.total:,} tokens of its {spec.token_budget:,} budget",
            )

    async def _check_allowance(self, turn: TurnLog) -> None:
        if (reason := await spent(self.allowance, turn)) is not None:
            raise _Stop(StopReason.QUOTA_EXCEEDED, reason)

    async def _stopped(
        self, turn: TurnLog, speaker: str, stop: _Stop, emit: EventSink
    ) -> FinalEvent:
        await emit(ErrorEvent(str(stop), _LIMIT_CODES[stop.reason], agent=speaker))
        turn.answer_open_calls(str(stop), None)
        if stop.reason == StopReason.QUOTA_EXCEEDED:
            text = stopped_reply(turn, str(stop))
        else:
            text = composed_summary(f"The team stopped ({stop})", turn.results)
        turn.add(ChatMessage("assistant", text))
        return turn.final(text, stop.reason, stop_reason=stop.reason, agent=speaker)

    async def _out_of_time(
        self, turn: TurnLog, seat: _Seat, limit: float, emit: EventSink
    ) -> FinalEvent:
        speaker = seat.role.name
        reason = f"the turn ran out of its {limit:g} s time budget"
        interrupted = seat.toolbox.interrupted(reason + "; the code was interrupted")
        if interrupted is not None:
            interrupted.agent = speaker
            await emit(interrupted)
            turn.results.append(interrupted)
        turn.answer_open_calls(reason, interrupted)
        text = composed_summary(f"The team ran out of the {limit:g} s allowed", turn.results)
        turn.add(ChatMessage("assistant", text))
        await emit(ErrorEvent(reason, ErrorCode.TURN_TIMEOUT, agent=speaker))
        return turn.final(text, "timeout", stop_reason=StopReason.TIMEOUT, agent=speaker)


def _answer_calls_not_run(turn: TurnLog, calls: list[ToolCall], why: str) -> None:
    """Calls made along with the final answer: answered, not run (the history needs both)."""
    if not calls:
        return
    turn.add(ChatMessage("assistant", "", tool_calls=calls))
    for call in calls:
        turn.add(ChatMessage("tool", f"Not run: {why}.", tool_call_id=call.id))


def _automatic_handoff(role: Role) -> ToolCall:
    target = role.handoffs[0]
    arguments = {"reason": AUTOMATIC_HANDOFF_REASON}
    return ToolCall(
        # Unique across turns too: the stored history sends every turn's calls back.
        id=f"auto-handoff-{secrets.token_hex(6)}",
        name=handoff_tool_name(target),
        arguments=arguments,
        raw_arguments=json.dumps(arguments),
    )


class _Speaking:
    """An event sink that marks every event with the role that caused it."""

    def __init__(self, role: str, emit: EventSink) -> None:
        self._role = role
        self._emit = emit

    async def __call__(self, event: AgentEvent) -> None:
        event.agent = self._role
        await self._emit(event)
