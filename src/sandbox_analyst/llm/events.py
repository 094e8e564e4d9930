"""What a model call streams back, in order: text and tool calls, then usage, then done."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox_analyst.llm.messages import ToolCall


@dataclass
class TextDelta:
    text: str


@dataclass
class ToolCallEvent:
    """A complete tool call, emitted once its arguments have been fully received."""

    call: ToolCall


@dataclass
class UsageEvent:
    input_tokens: int
    output_tokens: int


@dataclass
class DoneEvent:
    stop_reason: str  # "stop" | "tool_calls" | "length" | whatever else the provider said


LLMEvent = TextDelta | ToolCallEvent | UsageEvent | DoneEvent
