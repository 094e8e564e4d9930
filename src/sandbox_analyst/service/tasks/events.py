"""What a running task streams, beside the agent's own events (token, tool_call, stdout,
stderr, tool_result, error): its start, a command waiting for the user's yes and the answer,
and its end with the result. Each event's `type` is the server-sent event's name."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from sandbox_analyst.agent import (
    AgentEvent,
    ErrorEvent,
    ToolCallEvent,
    ToolResultEvent,
)


@dataclass
class TaskStartEvent:
    type: ClassVar[str] = "task_start"
    task_id: str
    sandbox_id: str
    inputs: list[str]


@dataclass
class ConfirmEvent:
    """A bash command waits for the user's answer (permission mode `confirm`)."""

    type: ClassVar[str] = "confirm"
    confirmation_id: str
    command: str


@dataclass
class ConfirmAnswerEvent:
    type: ClassVar[str] = "confirm_answer"
    confirmation_id: str
    allowed: bool
    reason: str = ""


@dataclass
class MessageEvent:
    """What the model said between tool calls (its streamed tokens, joined), for the log."""

    type: ClassVar[str] = "message"
    text: str


@dataclass
class TaskEndEvent:
    type: ClassVar[str] = "task_end"
    task_id: str
    status: str
    summary: str
    error: str | None
    files: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)


TaskEvent = (
    AgentEvent | TaskStartEvent | ConfirmEvent | ConfirmAnswerEvent | MessageEvent | TaskEndEvent
)

# Stored as the task's step log; the others (tokens, output chunks) only stream: the model's
# text is stored as a `message`, a command's output in its `tool_result`.
LOGGED: tuple[type, ...] = (
    TaskStartEvent,
    ConfirmEvent,
    ConfirmAnswerEvent,
    MessageEvent,
    ToolCallEvent,
    ToolResultEvent,
    ErrorEvent,
    TaskEndEvent,
)


def event_payload(event: TaskEvent) -> dict[str, Any]:
    """What a client is sent, and the step log keeps, for `event`. A tool result carries the
    observation the model read; its full output went out as stdout/stderr events."""
    payload = asdict(event)  # type: ignore[call-overload]
    if isinstance(event, ToolResultEvent):
        del payload["stdout"], payload["stderr"]
    if payload.get("agent", "") is None:
        del payload["agent"]
    return payload
