"""What goes into a model call: the conversation and the tools it may call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class ToolSpec:
    name: str
    description: str
    parameters: dict  # JSON schema of the arguments object


@dataclass
class ToolCall:
    """One call the model asked for. `arguments` is `{}` when `raw_arguments` did not parse;
    `parse_error` then says why, so the agent can report it back to the model."""

    id: str
    name: str
    arguments: dict
    raw_arguments: str
    parse_error: str | None = None


@dataclass
class ChatMessage:
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None  # role="tool": the call this message answers
    name: str | None = None
