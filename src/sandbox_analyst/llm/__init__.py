"""One small interface to chat models: `create_llm(settings).stream(messages, tools)` yields
text deltas, tool calls, usage and done, for OpenAI-compatible servers and Anthropic alike."""

from sandbox_analyst.llm.accumulator import ToolCallAccumulator, parse_arguments
from sandbox_analyst.llm.anthropic_messages import AnthropicMessagesLLM
from sandbox_analyst.llm.base import LLM
from sandbox_analyst.llm.errors import (
    LLMAuthError,
    LLMBadRequestError,
    LLMError,
    LLMModelNotFoundError,
    LLMRateLimitError,
    LLMUnavailableError,
)
from sandbox_analyst.llm.events import DoneEvent, LLMEvent, TextDelta, ToolCallEvent, UsageEvent
from sandbox_analyst.llm.factory import create_llm, resolve_endpoint
from sandbox_analyst.llm.messages import ChatMessage, ToolCall, ToolSpec
from sandbox_analyst.llm.openai_chat import OpenAIChatLLM
from sandbox_analyst.llm.retry import RetryPolicy

__all__ = [
    "LLM",
    "AnthropicMessagesLLM",
    "ChatMessage",
    "DoneEvent",
    "LLMAuthError",
    "LLMBadRequestError",
    "LLMError",
    "LLMEvent",
    "LLMModelNotFoundError",
    "LLMRateLimitError",
    "LLMUnavailableError",
    "OpenAIChatLLM",
    "RetryPolicy",
    "TextDelta",
    "ToolCall",
    "ToolCallAccumulator",
    "ToolCallEvent",
    "ToolSpec",
    "UsageEvent",
    "create_llm",
    "parse_arguments",
    "resolve_endpoint",
]
