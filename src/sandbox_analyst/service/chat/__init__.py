"""Chat turns: `ChatService` starts them, `ChatTurn` is the handle a front end holds (events,
cancel, wait), `TurnRunner` is the body of a turn's task (sandbox ready, agent run), whose
`StepWriter` has each step stored by the `TurnRecorder` before it is published; `events` lists
what a turn streams."""

from sandbox_analyst.service.chat.events import (
    ArtifactEvent,
    ArtifactRef,
    ChatEvent,
    ErrorCode,
    ErrorEvent,
    MessageEndEvent,
    MessageStartEvent,
    ResultEvent,
    SandboxRestoredEvent,
    StderrEvent,
    StdoutEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from sandbox_analyst.service.chat.service import ChatService
from sandbox_analyst.service.chat.turn import ChatTurn, TurnOutcome

__all__ = [
    "ArtifactEvent",
    "ArtifactRef",
    "ChatEvent",
    "ChatService",
    "ChatTurn",
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
    "TurnOutcome",
]
