"""What `Agent.run` (and a team's `Team.run`) sends its event sink, in order, for one user
message. Each event's `type` is the name of the server-sent event the chat service forwards it
as; `agent` names the team role that made it (None outside team mode)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from sandbox_analyst.agent.artifacts import ArtifactRef
from sandbox_analyst.llm import ChatMessage


@dataclass
class TokenEvent:
    """A piece of the model's text, as it streams."""

    type: ClassVar[str] = "token"
    text: str
    agent: str | None = None


@dataclass
class ToolCallEvent:
    """The model asked for a tool; `code` is the code of an `execute_code` call."""

    type: ClassVar[str] = "tool_call"
    call_id: str
    tool: str
    arguments: dict
    code: str | None
    agent: str | None = None


@dataclass
class StdoutEvent:
    type: ClassVar[str] = "stdout"
    call_id: str
    text: str
    agent: str | None = None


@dataclass
class StderrEvent:
    type: ClassVar[str] = "stderr"
    call_id: str
    text: str
    agent: str | None = None


@dataclass
class ResultEvent:
    """A rich output without an image (a table, a value); images come as `ArtifactEvent`s."""

    type: ClassVar[str] = "result"
    call_id: str
    formats: list[str]
    text: str | None
    html: str | None
    agent: str | None = None


@dataclass
class ArtifactEvent:
    """A chart or a file the code produced, already saved through the `ArtifactSink`."""

    type: ClassVar[str] = "artifact"
    call_id: str
    artifact: ArtifactRef
    agent: str | None = None


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
    peak_memory_bytes: int | None = None  # of the sandbox while the code ran, if it says
    cpu_seconds: float | None = None  # CPU time the code used, if the sandbox says
    agent: str | None = None


class ErrorCode(StrEnum):
    """The `code` of an in-stream `ErrorEvent` (a string on the wire)."""

    LLM_ERROR = "llm_error"  # the model could not be called, or there is no model to call
    TURN_TIMEOUT = "turn_timeout"  # the turn ran out of its time budget
    MAX_ITERATIONS = "max_iterations"  # the steps were spent before a final answer
    MAX_MESSAGES = "max_messages"  # a team spent its messages before a final answer
    TOKEN_BUDGET = "token_budget"  # a team spent its tokens before a final answer
    HANDOFF_LOOP = "handoff_loop"  # a team's roles handed off in a circle, doing nothing
    REPEATED_FAILURE = "repeated_failure"  # a team ran the same failing code again
    QUOTA_EXCEEDED = "quota_exceeded"  # the user's quota ran out mid-turn (see `Allowance`)
    INTERNAL_ERROR = "internal_error"  # a bug on our side ended the turn (raised by the service)
    STORAGE_FULL = "storage_full"  # the server could not store something (raised by the service)


@dataclass
class ErrorEvent:
    """The turn hit a limit or a failure."""

    type: ClassVar[str] = "error"
    message: str
    code: ErrorCode
    agent: str | None = None


@dataclass
class HandoffEvent:
    """In a team turn, `agent` handed the conversation to `to` (its `transfer_to_<to>` call
    `call_id`, whose tool call and result are sent as well)."""

    type: ClassVar[str] = "handoff"
    call_id: str
    to: str
    reason: str
    agent: str | None = None


@dataclass
class FinalEvent:
    """How a turn that was not cancelled ended: what `Agent.run` returns.

    `status`: "complete" | "failed" | "max_iterations" | "timeout", and for a team turn also
    "max_messages" | "token_budget" | "handoff_loop" | "repeated_failure". `stop_reason` says
    why the turn stopped, more precisely than `status` where it matters: a team that ended with
    TERMINATE stops for "terminate", one whose last role answered without it for
    "final_answer". `agent`: the team role that spoke last. `usage`: tokens summed over
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
    stop_reason: str | None = None  # None: the same as `status`
    agent: str | None = None

    @property
    def reason(self) -> str:
        return self.stop_reason or self.status


AgentEvent = (
    TokenEvent
    | ToolCallEvent
    | StdoutEvent
    | StderrEvent
    | ResultEvent
    | ArtifactEvent
    | ToolResultEvent
    | ErrorEvent
    | HandoffEvent
)
"""Every event but the `FinalEvent`, which `Agent.run` returns rather than sends."""

EventSink = Callable[[AgentEvent], Awaitable[None]]
"""Where the agent sends each step as it happens, in order. The agent awaits each call before
it goes on: a sink may do its work there (store the step, hand it to a client) or start it and
return. To stop the turn, a sink raises `asyncio.CancelledError` (or cancels the turn's task):
cancellation interrupts code that is running, while any other exception raised from inside
`run_code`'s callbacks would leave that execution running, abandoned."""
