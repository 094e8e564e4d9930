"""Adapter for Anthropic's Messages API (native tool use) through the official `anthropic` SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic

from sandbox_analyst.llm.accumulator import ToolCallAccumulator, call_from_complete
from sandbox_analyst.llm.errors import LLMError, stream_truncated
from sandbox_analyst.llm.events import DoneEvent, LLMEvent, TextDelta, ToolCallEvent, UsageEvent
from sandbox_analyst.llm.messages import ChatMessage, ToolCall, ToolSpec
from sandbox_analyst.llm.retry import RetryPolicy, stream_with_retries
from sandbox_analyst.llm.sdk_errors import translate_sdk_error

# Anthropic requires `max_tokens`; this is what we ask for when the caller names none.
DEFAULT_MAX_TOKENS = 4096

_STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
}


class AnthropicMessagesLLM:
    """`client` must have the SDK's retries off (`max_retries=0`): `retry` does them."""

    def __init__(
        self,
        client: anthropic.AsyncAnthropic,
        *,
        provider: str,
        model: str,
        stream_tools: bool = True,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.base_url = str(client.base_url).rstrip("/")
        self._client = client
        self._stream_tools = stream_tools
        self._retry = retry or RetryPolicy()

    def stream(
        self,
        messages: list[ChatMessage],
        tools: list[ToolSpec] | None = None,
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[LLMEvent]:
        system, conversation = to_anthropic_messages(messages)
        request: dict[str, Any] = {
            "model": self.model,
            "messages": conversation,
            "max_tokens": max_tokens or DEFAULT_MAX_TOKENS,
        }
        if system:
            request["system"] = system
        if tools:
            request["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in tools
            ]
        if temperature is not None:
            # This SDK has no `temperature` argument (recent models ignore or refuse sampling
            # settings), so it travels as an extra body field for the endpoints that take it.
            request["extra_body"] = {"temperature": temperature}
        if tools and not self._stream_tools:
            return stream_with_retries(lambda: self._complete(request), self._retry, self._error)
        return stream_with_retries(lambda: self._streamed(request), self._retry, self._error)

    async def aclose(self) -> None:
        await self._client.close()

    async def _streamed(self, request: dict[str, Any]) -> AsyncIterator[LLMEvent]:
        stream = await self._client.messages.create(**request, stream=True)
        calls = ToolCallAccumulator()
        input_tokens = output_tokens = 0
        stop_reason: str | None = None
        try:
            async for event in stream:
                if event.type == "message_start":
                    input_tokens = _input_tokens(event.message.usage)
                    output_tokens = event.message.usage.output_tokens or 0
                elif event.type == "content_block_start":
                    block = event.content_block
                    if block.type == "tool_use":
                        initial = block.input if isinstance(block.input, dict) else None
                        calls.add(event.index, id=block.id, name=block.name, initial_input=initial)
                    elif block.type == "text" and block.text:
                        yield TextDelta(block.text)
                elif event.type == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta" and delta.text:
                        yield TextDelta(delta.text)
                    elif delta.type == "input_json_delta":
                        calls.add(event.index, arguments=delta.partial_json)
                elif event.type == "message_delta":
                    stop_reason = event.delta.stop_reason or stop_reason
                    output_tokens = event.usage.output_tokens or output_tokens
                    input_tokens = _input_tokens(event.usage) or input_tokens
        finally:
            await stream.close()
        if stop_reason is None:
            raise stream_truncated(self.provider, self.model, self.base_url)
        for event in _closing_events(calls.calls(), input_tokens, output_tokens, stop_reason):
            yield event

    async def _complete(self, request: dict[str, Any]) -> AsyncIterator[LLMEvent]:
        """The same events from a non-streaming call."""
        response = await self._client.messages.create(**request)
        calls: list[ToolCall] = []
        for block in response.content:
            if block.type == "text" and block.text:
                yield TextDelta(block.text)
            elif block.type == "tool_use":
                calls.append(call_from_complete(block.id, block.name, block.input))
        usage = response.usage
        for event in _closing_events(
            calls, _input_tokens(usage), usage.output_tokens or 0, response.stop_reason
        ):
            yield event

    def _error(self, exc: Exception) -> LLMError | None:
        timeout = self._client.timeout
        return translate_sdk_error(
            exc,
            anthropic,
            provider=self.provider,
            model=self.model,
            base_url=self.base_url,
            timeout=float(timeout if isinstance(timeout, int | float) else timeout.read or 0),
        )


def _input_tokens(usage: Any) -> int:
    # Cached prompt tokens are reported apart from `input_tokens`; all of them were input.
    return sum(
        getattr(usage, name, None) or 0
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


def _closing_events(
    calls: list[ToolCall], input_tokens: int, output_tokens: int, stop_reason: str | None
) -> list[LLMEvent]:
    events: list[LLMEvent] = [ToolCallEvent(call) for call in calls]
    events.append(UsageEvent(input_tokens, output_tokens))
    reason = _STOP_REASONS.get(stop_reason or "end_turn", stop_reason or "stop")
    events.append(DoneEvent("tool_calls" if calls else reason))
    return events


def to_anthropic_messages(messages: list[ChatMessage]) -> tuple[str, list[dict[str, Any]]]:
    """The `system` parameter and the `messages` list for a conversation in our terms.

    System messages become the `system` parameter; tool results become `tool_result` blocks of
    one user message (consecutive results, and user text right after them, share it, because
    Anthropic wants user and assistant turns to alternate).
    """
    system: list[str] = []
    converted: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            system.append(message.content)
        elif message.role == "assistant":
            converted.append({"role": "assistant", "content": _assistant_content(message)})
        else:
            if message.role == "tool":
                block = {
                    "type": "tool_result",
                    "tool_use_id": message.tool_call_id,
                    "content": message.content,
                }
            else:
                block = {"type": "text", "text": message.content}
            last = converted[-1] if converted else None
            if last and last["role"] == "user" and _holds_tool_results(last):
                last["content"].append(block)
            elif message.role == "tool":
                converted.append({"role": "user", "content": [block]})
            else:
                converted.append({"role": "user", "content": message.content})
    return "\n\n".join(system), converted


def _holds_tool_results(message: dict[str, Any]) -> bool:
    content = message["content"]
    return isinstance(content, list) and any(b.get("type") == "tool_result" for b in content)


def _assistant_content(message: ChatMessage) -> str | list[dict[str, Any]]:
    if not message.tool_calls:
        return message.content
    blocks: list[dict[str, Any]] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    blocks.extend(
        {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
        for call in message.tool_calls
    )
    return blocks
