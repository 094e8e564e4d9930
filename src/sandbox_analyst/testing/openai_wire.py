"""Turns rendered as OpenAI Chat Completions responses: SSE chunks, JSON, errors."""

from __future__ import annotations

import json
from typing import Any

from sandbox_analyst.testing.script import Turn, argument_fragments, status_phrase, text_pieces

_ERROR_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}


def _raw_arguments(arguments: dict | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _finish_reason(turn: Turn) -> str:
    return turn.stop_reason or ("tool_calls" if turn.tool_calls else "stop")


def _usage(turn: Turn) -> dict[str, int]:
    prompt, completion = turn.usage
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _chunk(model: str, delta: dict[str, Any], finish_reason: str | None = None) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def chat_completion_chunks(
    turn: Turn, *, model: str, call_ids: list[str], quirks: frozenset[str], include_usage: bool
) -> list[dict]:
    """The `data:` payloads of a streamed answer, before the final `[DONE]`."""
    chunks = [_chunk(model, {"role": "assistant", "content": ""})]
    chunks += [_chunk(model, {"content": piece}) for piece in text_pieces(turn.text)]
    for position, (name, arguments) in enumerate(turn.tool_calls):
        raw = _raw_arguments(arguments)
        index = 0 if "ollama_index_reuse" in quirks else position
        head: dict[str, Any] = {"index": index, "type": "function"}
        if "no_tool_call_ids" not in quirks:
            head["id"] = call_ids[position]
        if "single_chunk_tool_call" in quirks:
            head["function"] = {"name": name, "arguments": raw}
            chunks.append(_chunk(model, {"tool_calls": [head]}))
            continue
        head["function"] = {"name": name, "arguments": ""}
        chunks.append(_chunk(model, {"tool_calls": [head]}))
        for fragment in argument_fragments(raw, "fragmented_arguments" in quirks):
            tail = {"index": index, "function": {"arguments": fragment}}
            chunks.append(_chunk(model, {"tool_calls": [tail]}))
    chunks.append(_chunk(model, {}, _finish_reason(turn)))
    if include_usage:
        chunks.append({**_chunk(model, {}), "choices": [], "usage": _usage(turn)})
    return chunks


def chat_completion(turn: Turn, *, model: str, call_ids: list[str], quirks: frozenset[str]) -> dict:
    """A non-streamed answer."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                **({} if "no_tool_call_ids" in quirks else {"id": call_ids[position]}),
                "type": "function",
                "function": {"name": name, "arguments": _raw_arguments(arguments)},
            }
            for position, (name, arguments) in enumerate(turn.tool_calls)
        ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish_reason(turn)}],
        "usage": _usage(turn),
    }


def error_body(status: int, message: str | None = None) -> dict:
    return {
        "error": {
            "message": message or status_phrase(status),
            "type": "invalid_request_error" if status < 500 else "server_error",
            "param": None,
            "code": _ERROR_CODES.get(status),
        }
    }


def models_list(models: list[str]) -> dict:
    return {
        "object": "list",
        "data": [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in models],
    }
