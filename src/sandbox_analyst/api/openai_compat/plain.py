"""The plain model: the request's messages straight to the configured LLM, without tools, a
sandbox or anything stored. Front ends send their side requests to it (conversation titles,
tags, follow-up suggestions), which need a model, not an analyst; the side requests they send
to an assistant instead (`tasks`) go the same way, to the assistant's model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from sandbox_analyst.api.openai_compat.schemas import IncomingMessage
from sandbox_analyst.config import Settings
from sandbox_analyst.llm import LLM, ChatMessage, LLMEvent, TextDelta, UsageEvent, open_llm

# OpenAI's newer "developer" role is a system message to every other provider.
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


def plain_messages(messages: Sequence[IncomingMessage]) -> list[ChatMessage]:
    """The conversation as text: tool messages and non-text parts are left out."""
    return [
        ChatMessage(role=_ROLES[m.role], content=m.text)  # type: ignore[arg-type]
        for m in messages
        if m.role in _ROLES and m.text
    ]


@dataclass
class PlainReply:
    """One plain call. Iterate `pieces()` for the text; `usage` is filled as it ends."""

    llm: LLM
    events: AsyncIterator[LLMEvent]
    first: LLMEvent | None
    usage: dict[str, int] = field(default_factory=dict)

    @classmethod
    async def start(
        cls,
        settings: Settings,
        messages: Sequence[IncomingMessage],
        *,
        provider: str | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
    ) -> PlainReply:
        """Calls the model (the configured one, or `provider`'s `model`: an assistant's) and
        waits for its first event, so that a failing call raises here, before any response is
        under way."""
        llm = await open_llm(settings, provider, model)
        try:
            events = aiter(llm.stream(plain_messages(messages), max_tokens=max_tokens))
            first = await anext(events, None)
        except BaseException:
            await llm.aclose()
            raise
        return cls(llm, events, first)

    async def pieces(self) -> AsyncIterator[str]:
        try:
            event = self.first
            while event is not None:
                if isinstance(event, TextDelta) and event.text:
                    yield event.text
                elif isinstance(event, UsageEvent):
                    self.usage = {
                        "input_tokens": event.input_tokens,
                        "output_tokens": event.output_tokens,
                    }
                event = await anext(self.events, None)
        finally:
            await self.llm.aclose()
