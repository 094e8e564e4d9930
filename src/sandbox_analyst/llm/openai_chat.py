"""Adapter for OpenAI's Chat Completions API: OpenAI, Azure OpenAI and every server that speaks
it (Ollama, vLLM, llama.cpp, LM Studio, a LiteLLM proxy), through the official `openai` SDK."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from sandbox_analyst.llm.accumulator import ToolCallAccumulator, call_from_complete
from sandbox_analyst.llm.errors import LLMError, stream_truncated
from sandbox_analyst.llm.events import DoneEvent, LLMEvent, TextDelta, ToolCallEvent, UsageEvent
from sandbox_analyst.llm.messages import ChatMessage, ToolCall, ToolSpec
from sandbox_analyst.llm.retry import RetryPolicy, stream_with_retries
from sandbox_analyst.llm.sdk_errors import translate_sdk_error

# Requests go through the client's `post`, not `chat.completions.create`: `create` first
# walks the whole request against the SDK's typed parameters (every message against every
# kind of message), which costs about 1 ms of CPU per earlier turn of the conversation on
# every model call, to change nothing in the plain JSON built here. The client's `post` keeps
# everything else: headers, timeouts, Azure's deployment paths, errors, the streamed chunks.
_COMPLETIONS = "/chat/completions"


class OpenAIChatLLM:
    """`client` must have the SDK's retries off (`max_retries=0`): `retry` does them."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        provider: str,
        model: str,
        stream_tools: bool = True,
        retry: RetryPolicy | None = None,
        max_tokens_param: str = "max_tokens",
    ) -> None:
        self.provider = provider
        self.model = model
        self.base_url = str(client.base_url).rstrip("/")
        self._client = client
        self._stream_tools = stream_tools
        self._retry = retry or RetryPolicy()
        # OpenAI's own API wants `max_completion_tokens` (newer models refuse `max_tokens`);
        # compatible servers mostly know only `max_tokens`.
        self._max_tokens_param = max_tokens_param

    def stream(
        self,
        messages: list[ChatMessage],
        tools: list[ToolSpec] | None = None,
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[LLMEvent]:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [_to_openai_message(message) for message in messages],
        }
        if tools:
            request["tools"] = [_to_openai_tool(tool) for tool in tools]
        if max_tokens is not None:
            request[self._max_tokens_param] = max_tokens
        if temperature is not None:
            request["temperature"] = temperature
        if tools and not self._stream_tools:
            return stream_with_retries(lambda: self._complete(request), self._retry, self._error)
        return stream_with_retries(lambda: self._streamed(request), self._retry, self._error)

    async def aclose(self) -> None:
        await self._client.close()

    async def _streamed(self, request: dict[str, Any]) -> AsyncIterator[LLMEvent]:
        stream = await self._client.post(
            _COMPLETIONS,
            body={**request, "stream": True, "stream_options": {"include_usage": True}},
            cast_to=ChatCompletion,
            stream=True,
            stream_cls=openai.AsyncStream[ChatCompletionChunk],
        )
        calls = ToolCallAccumulator()
        usage: UsageEvent | None = None
        finish_reason: str | None = None
        try:
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = UsageEvent(
                        chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0
                    )
                # We ask for one choice (n=1); servers put everything in choices[0].
                for choice in chunk.choices[:1]:
                    delta = choice.delta
                    if delta is not None and delta.content:
                        yield TextDelta(delta.content)
                    for fragment in (delta.tool_calls if delta is not None else None) or []:
                        function = fragment.function
                        calls.add(
                            fragment.index,
                            id=fragment.id,
                            name=function.name if function else None,
                            arguments=function.arguments if function else None,
                        )
                    finish_reason = choice.finish_reason or finish_reason
        finally:
            await stream.close()
        if finish_reason is None:
            raise stream_truncated(self.provider, self.model, self.base_url)
        for event in _closing_events(calls.calls(), usage, finish_reason):
            yield event

    async def _complete(self, request: dict[str, Any]) -> AsyncIterator[LLMEvent]:
        """The same events from a non-streaming call, for servers that stream tools badly."""
        response = await self._client.post(_COMPLETIONS, body=request, cast_to=ChatCompletion)
        calls: list[ToolCall] = []
        finish_reason: str | None = None
        if response.choices:
            choice = response.choices[0]
            finish_reason = choice.finish_reason
            if choice.message.content:
                yield TextDelta(choice.message.content)
            for tool_call in choice.message.tool_calls or []:
                function = getattr(tool_call, "function", None)
                if function is not None:
                    calls.append(
                        call_from_complete(tool_call.id, function.name or "", function.arguments)
                    )
        usage = None
        if response.usage is not None:
            usage = UsageEvent(response.usage.prompt_tokens, response.usage.completion_tokens)
        for event in _closing_events(calls, usage, finish_reason):
            yield event

    def _error(self, exc: Exception) -> LLMError | None:
        return translate_sdk_error(
            exc,
            openai,
            provider=self.provider,
            model=self.model,
            base_url=self.base_url,
            timeout=_timeout_seconds(self._client.timeout),
        )


def _closing_events(
    calls: list[ToolCall], usage: UsageEvent | None, finish_reason: str | None
) -> list[LLMEvent]:
    events: list[LLMEvent] = [ToolCallEvent(call) for call in calls]
    if usage is not None:
        events.append(usage)
    # Some servers (older Ollama) say "stop" even when they return tool calls.
    stop_reason = "tool_calls" if calls else (finish_reason or "stop")
    events.append(DoneEvent(stop_reason))
    return events


def _timeout_seconds(timeout: object) -> float:
    if isinstance(timeout, int | float):
        return float(timeout)
    return float(getattr(timeout, "read", None) or 0)


def _to_openai_tool(tool: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }


def _to_openai_message(message: ChatMessage) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    converted: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.name and message.role == "user":
        converted["name"] = message.name
    if message.role == "assistant" and message.tool_calls:
        converted["content"] = message.content or None
        converted["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": _arguments_to_send(call)},
            }
            for call in message.tool_calls
        ]
    return converted


def _arguments_to_send(call: ToolCall) -> str:
    # The model's own text when it parsed (keeps prompt caches warm); valid JSON otherwise,
    # because several servers refuse a conversation holding unparseable arguments.
    if call.parse_error is None and call.raw_arguments.strip():
        return call.raw_arguments
    return json.dumps(call.arguments)
