"""The interface every provider adapter implements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from sandbox_analyst.llm.events import LLMEvent
from sandbox_analyst.llm.messages import ChatMessage, ToolSpec


class LLM(Protocol):
    provider: str  # the endpoint's name: a kind ("openai") or a configured name ("ollama")
    model: str

    def stream(
        self,
        messages: list[ChatMessage],
        tools: list[ToolSpec] | None = None,
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[LLMEvent]:
        """Events of one model call. Raises `LLMError` when the call fails; failures before the
        first event are retried, failures after it are raised as they are."""
        ...

    async def aclose(self) -> None: ...
