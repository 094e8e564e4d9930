"""One small interface to chat models: `create_llm(settings).stream(messages, tools)` yields
text deltas, tool calls, usage and done, for OpenAI-compatible servers and Anthropic alike.

The adapters import their SDK (~1-2 s of CPU each), so they are loaded on first use: a server
configured for one provider never pays for the other, and importing this package stays cheap;
code on an event loop makes its clients with `open_llm`, in a thread, so the import never
holds up the loop.
"""

from typing import TYPE_CHECKING, Any

from sandbox_analyst.llm.accumulator import ToolCallAccumulator, parse_arguments
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
from sandbox_analyst.llm.factory import create_llm, open_llm, resolve_endpoint
from sandbox_analyst.llm.messages import ChatMessage, ToolCall, ToolSpec
from sandbox_analyst.llm.retry import RetryPolicy

if TYPE_CHECKING:
    from sandbox_analyst.llm.anthropic_messages import AnthropicMessagesLLM
    from sandbox_analyst.llm.openai_chat import OpenAIChatLLM

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
    "open_llm",
    "parse_arguments",
    "resolve_endpoint",
]


def __getattr__(name: str) -> Any:
    if name == "OpenAIChatLLM":
        from sandbox_analyst.llm.openai_chat import OpenAIChatLLM

        return OpenAIChatLLM
    if name == "AnthropicMessagesLLM":
        from sandbox_analyst.llm.anthropic_messages import AnthropicMessagesLLM

        return AnthropicMessagesLLM
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
