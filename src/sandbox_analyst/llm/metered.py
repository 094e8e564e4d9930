"""`MeteredLLM`: any adapter's calls measured (time to first token, total time, tokens,
outcome), as `create_llm` hands every adapter out. Retries are reported where they happen
(`retry.stream_with_retries`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from sandbox_analyst.llm.base import LLM
from sandbox_analyst.llm.errors import LLMError
from sandbox_analyst.llm.events import LLMEvent, TextDelta, ToolCallEvent, UsageEvent
from sandbox_analyst.llm.messages import ChatMessage, ToolSpec
from sandbox_analyst.telemetry import LLMCallFinished, emit


class MeteredLLM:
    def __init__(self, inner: LLM) -> None:
        self.inner = inner
        self.provider = inner.provider
        self.model = inner.model

    def __getattr__(self, name: str) -> object:
        # What else an adapter offers (its base_url, for messages) stays reachable.
        return getattr(self.inner, name)

    async def stream(
        self,
        messages: list[ChatMessage],
        tools: list[ToolSpec] | None = None,
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[LLMEvent]:
        started = time.monotonic()
        first: float | None = None
        tokens_in = tokens_out = 0
        outcome = "cancelled"  # the caller stopped reading before the end
        events = self.inner.stream(messages, tools, max_tokens=max_tokens, temperature=temperature)
        try:
            async for event in events:
                if first is None and isinstance(event, (TextDelta, ToolCallEvent)):
                    first = time.monotonic() - started
                elif isinstance(event, UsageEvent):
                    tokens_in += event.input_tokens
                    tokens_out += event.output_tokens
                yield event
            outcome = "ok"
        except LLMError as exc:
            outcome = type(exc).__name__
            raise
        except (asyncio.CancelledError, GeneratorExit):
            raise
        except Exception:
            outcome = "failed"
            raise
        finally:
            # An async generator has aclose; a plain async iterator need not.
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
            emit(
                LLMCallFinished(
                    self.provider,
                    self.model,
                    outcome,
                    time.monotonic() - started,
                    first,
                    tokens_in,
                    tokens_out,
                )
            )

    async def aclose(self) -> None:
        await self.inner.aclose()
