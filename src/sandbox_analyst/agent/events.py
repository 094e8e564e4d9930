"""What `Agent.run` yields, in order, for one user message. Each event's `type` is the name of
the server-sent event the chat service forwards it as."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sandbox_analyst.agent.artifacts import ArtifactRef
from sandbox_analyst.llm import ChatMessage


@dataclass
class TokenEvent:
    """A piece of the model's text, as it streams."""

    type: ClassVar[str] = "token"
    text: str


@dataclass
class ToolCallEvent:
    """The model asked for a tool; `code` is the code of an `execute_code` call."""

    type: ClassVar[str] = "tool_call"
    call_id: str
    tool: str
    arguments: dict
    code: str | None


@dataclass
class StdoutEvent:
    type: ClassVar[str] = "stdout"
    call_id: str
    text: str


@dataclass
class StderrEvent:
    type: ClassVar[str] = "stderr"
    call_id: str
    text: str


@dataclass
class ResultEvent:
    """A rich output without an image (a table, a value); images come as `ArtifactEvent`s."""

    type: ClassVar[str] = "result"
    call_id: str
    formats: list[str]
    text: str | None
    html: str | None


@dataclass
class ArtifactEvent:
    """A chart or a file the code produced, already saved through the `ArtifactSink`."""

    type: ClassVar[str] = "artifact"
    call_id: str
    artifact: ArtifactRef


@dataclass
class ToolResultEvent:
    """A finished tool call. `observation` is exactly what the model was sent; `stdout` and
    `stderr` are the full output (the observation may hold a truncated view of them)."""

    type: ClassVar[str] = "tool_result"
    call_id: str
    tool: str
    success: bool
    observation: str
    code: str | None
    stdout: str
    stderr: str
    error: dict | None  # {"name", "value", "traceback"}
    duration: float
    state_lost: bool


@dataclass
class ErrorEvent:
    """The turn hit a limit or a failure. `code`: "llm_error", "turn_timeout", "max_iterations"."""

    type: ClassVar[str] = "error"
    message: str
    code: str


@dataclass
class FinalEvent:
    """Always the last event of a turn that was not cancelled.

    `status`: "complete" | "failed" | "max_iterations" | "timeout". `usage`: tokens summed over
    the turn's model calls. `messages`: what this turn added to the conversation (assistant
    messages with their tool calls, one tool message per call, the final assistant text; not
    the user's message, which the caller already has), ready to be stored and sent back as
    history next turn.
    """

    type: ClassVar[str] = "final"
    content: str
    status: str
    usage: dict
    messages: list[ChatMessage]


AgentEvent = (
    TokenEvent
    | ToolCallEvent
    | StdoutEvent
    | StderrEvent
    | ResultEvent
    | ArtifactEvent
    | ToolResultEvent
    | ErrorEvent
    | FinalEvent
)
