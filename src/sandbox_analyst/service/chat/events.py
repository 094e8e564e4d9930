"""Events of a chat turn, in order: `message_start`, perhaps `sandbox_restored`, the agent's own
steps (`token`, `tool_call`, `stdout`, ..., re-exported here so that front ends need only the
service), and always `message_end` last. Each has a `type`: the name of the server-sent event
the API streams it as."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sandbox_analyst.agent import (
    AgentEvent,
    ArtifactEvent,
    ArtifactRef,
    ErrorCode,
    ErrorEvent,
    ResultEvent,
    StderrEvent,
    StdoutEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
)

__all__ = [
    "AgentEvent",
    "ArtifactEvent",
    "ArtifactRef",
    "ChatEvent",
    "ErrorCode",
    "ErrorEvent",
    "MessageEndEvent",
    "MessageStartEvent",
    "ResultEvent",
    "SandboxRestoredEvent",
    "StderrEvent",
    "StdoutEvent",
    "TokenEvent",
    "ToolCallEvent",
    "ToolResultEvent",
]


@dataclass
class MessageStartEvent:
    """The turn began: its user message is stored, its assistant message is streaming."""

    type: ClassVar[str] = "message_start"
    conversation_id: str
    user_message_id: str
    message_id: str


@dataclass
class SandboxRestoredEvent:
    """The conversation's sandbox had been lost and was rebuilt before the turn ran."""

    type: ClassVar[str] = "sandbox_restored"
    reason: str  # "new_sandbox" (it was gone) | "worker_lost" (its process died)
    files: int  # files written back into the workdir
    cells_replayed: int
    cells_failed: int


@dataclass
class MessageEndEvent:
    """Always the last event. `status` is the stored message's ("complete", "failed",
    "cancelled"); `agent_status` says how the agent ended ("max_iterations", "timeout"...)."""

    type: ClassVar[str] = "message_end"
    message_id: str
    status: str
    agent_status: str
    usage: dict[str, Any]
    duration: float
    error: str | None
    artifact_ids: list[str]


ChatEvent = MessageStartEvent | SandboxRestoredEvent | AgentEvent | MessageEndEvent
