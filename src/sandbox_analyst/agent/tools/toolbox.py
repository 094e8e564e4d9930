"""`Toolbox`: runs the tool calls of one turn against one sandbox, with the tools of one
registry. Every call, whatever happens to it (an unknown tool, arguments that are not JSON, a
sandbox failure), ends in an observation for the model and a `ToolResultEvent`."""

from __future__ import annotations

import time

from sandbox_analyst.agent.artifact_limits import ArtifactBudget, ArtifactUsage
from sandbox_analyst.agent.artifacts import ArtifactSink
from sandbox_analyst.agent.config import AgentConfig
from sandbox_analyst.agent.events import EventSink, ToolCallEvent, ToolResultEvent
from sandbox_analyst.agent.figures import FigureNamer
from sandbox_analyst.agent.observation import Observation
from sandbox_analyst.agent.tools.context import (
    CallOutput,
    InvalidArguments,
    ToolContext,
    ToolOutcome,
    TurnState,
)
from sandbox_analyst.agent.tools.registry import Tool, ToolRegistry
from sandbox_analyst.llm import ToolCall
from sandbox_analyst.sandbox import FileAccessError, Sandbox, SandboxError


class Toolbox:
    def __init__(
        self,
        tools: ToolRegistry,
        sandbox: Sandbox,
        artifacts: ArtifactSink,
        config: AgentConfig,
        figures: FigureNamer,
        saved: ArtifactUsage,
        *,
        state: TurnState | None = None,
    ) -> None:
        """`saved`: what the conversation stored before this turn, which its limits count.
        `state`: the turn's shared tool state, when several toolboxes (a team's roles) work
        in one turn; a new one by default."""
        self.tools = tools
        self.sandbox = sandbox
        self.artifacts = artifacts
        self.config = config
        self.running: CallOutput | None = None
        if state is None:
            budget = ArtifactBudget(config.artifact_limits, saved)
            state = TurnState(figures, sandbox.generation, budget)
        self.state = state

    async def call(self, call: ToolCall, emit: EventSink) -> ToolResultEvent:
        tool = self.tools.get(call.name)
        code = tool.code_of(call) if tool is not None else None
        await emit(ToolCallEvent(call.id, call.name, call.arguments, code))
        output = self.running = CallOutput(call, code)
        outcome = await self._run(tool, output, emit)
        self.running = None
        result = self._result(output, outcome)
        await emit(result)
        return result

    def interrupted(self, reason: str) -> ToolResultEvent | None:
        """The result of the call cut short by the end of the turn, if one was running."""
        output, self.running = self.running, None
        if output is None:
            return None
        observation = Observation.failure("Interrupted", reason)
        observation.stdout, observation.stderr = "".join(output.stdout), "".join(output.stderr)
        return self._result(output, ToolOutcome(observation))

    async def _run(self, tool: Tool | None, output: CallOutput, emit: EventSink) -> ToolOutcome:
        call = output.call
        if tool is None:
            known = ", ".join(self.tools.names())
            return _failed("UnknownTool", f"no tool {call.name!r}; use: {known}")
        if call.parse_error is not None:
            return _failed(
                "InvalidArguments",
                f"{call.parse_error}. Send the arguments as one JSON object, "
                'e.g. {"code": "print(1)"}; escape quotes and newlines inside strings.',
            )
        context = ToolContext(
            call, self.sandbox, self.artifacts, self.config, self.state, output, emit
        )
        try:
            return await tool.handler(context)
        except InvalidArguments as exc:
            return _failed("InvalidArguments", str(exc))
        except FileAccessError as exc:
            return _failed("FileAccessError", str(exc))
        except SandboxError as exc:
            return _failed(type(exc).__name__, f"the sandbox failed: {exc}")

    def _result(self, output: CallOutput, outcome: ToolOutcome) -> ToolResultEvent:
        observation = outcome.observation
        return ToolResultEvent(
            call_id=output.call.id,
            tool=output.call.name,
            success=observation.success,
            observation=observation.render(self.config.observation_limit),
            code=output.code,
            stdout=observation.stdout,
            stderr=observation.stderr,
            error=observation.error,
            duration=time.monotonic() - output.started,
            state_lost=outcome.state_lost,
            peak_memory_bytes=outcome.peak_memory_bytes,
            cpu_seconds=outcome.cpu_seconds,
        )


def _failed(name: str, value: str) -> ToolOutcome:
    return ToolOutcome(Observation.failure(name, value))
