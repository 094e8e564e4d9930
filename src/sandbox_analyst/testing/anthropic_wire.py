"""Turns rendered as Anthropic Messages responses: SSE events, JSON, errors."""

from __future__ import annotations

import json
from typing import Any

from sandbox_analyst.testing.script import Turn, argument_fragments, status_phrase, text_pieces

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _stop_reason(turn: Turn) -> str:
    reason = turn.stop_reason or ("tool_calls" if turn.tool_calls else "stop")
    return _STOP_REASONS.get(reason, reason)


def _tool_input(arguments: dict | str) -> Any:
    if isinstance(arguments, dict):
        return arguments
    try:
        return json.loads(arguments)
    except json.JSONDecodeError:
        return arguments  # a non-streamed answer cannot carry invalid JSON any other way


def message_events(
    turn: Turn, *, model: str, call_ids: list[str], quirks: frozenset[str]
) -> list[tuple[str, dict]]:
    """The (event name, data) pairs of a streamed answer."""
    input_tokens, output_tokens = turn.usage
    message = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
    }
    events: list[tuple[str, dict]] = [
        ("message_start", {"type": "message_start", "message": message})
    ]
    blocks: list[tuple[dict, list[dict]]] = []
    if turn.text:
        deltas = [{"type": "text_delta", "text": piece} for piece in text_pieces(turn.text)]
        blocks.append(({"type": "text", "text": ""}, deltas))
    for position, (name, arguments) in enumerate(turn.tool_calls):
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        start = {"type": "tool_use", "id": call_ids[position], "name": name, "input": {}}
        fragments = argument_fragments(raw, "fragmented_arguments" in quirks)
        blocks.append((start, [{"type": "input_json_delta", "partial_json": f} for f in fragments]))
    for index, (start, deltas) in enumerate(blocks):
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": start},
            )
        )
        events.extend(
            ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            for delta in deltas
        )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": _stop_reason(turn), "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def message(turn: Turn, *, model: str, call_ids: list[str]) -> dict:
    """A non-streamed answer."""
    content: list[dict] = [{"type": "text", "text": turn.text}] if turn.text else []
    content += [
        {
            "type": "tool_use",
            "id": call_ids[position],
            "name": name,
            "input": _tool_input(arguments),
        }
        for position, (name, arguments) in enumerate(turn.tool_calls)
    ]
    input_tokens, output_tokens = turn.usage
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": _stop_reason(turn),
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def error_body(status: int, message: str | None = None) -> dict:
    error_type = _ERROR_TYPES.get(status, "api_error")
    return {
        "type": "error",
        "error": {"type": error_type, "message": message or status_phrase(status)},
    }


def models_list(models: list[str]) -> dict:
    data = [
        {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
        for m in models
    ]
    first, last = (models[0], models[-1]) if models else (None, None)
    return {"data": data, "has_more": False, "first_id": first, "last_id": last}
