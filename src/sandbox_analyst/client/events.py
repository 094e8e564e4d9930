"""A chat turn's server-sent events as the client sees them, and the parser that reads them
off the wire."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TurnEvent:
    """One event of a turn. `type` is the SSE event name (message_start, token, tool_call,
    stdout, stderr, result, artifact, tool_result, sandbox_restored, error, message_end);
    `data` its JSON payload, exactly as the API sent it."""

    type: str
    data: dict[str, Any]


async def parse_event_stream(lines: AsyncIterable[str]) -> AsyncIterator[TurnEvent]:
    """Events from the lines of a `text/event-stream` body (comment lines are keep-alives)."""
    name = ""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield TurnEvent(name or "message", json.loads("\n".join(data)))
            name, data = "", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
    if data:
        yield TurnEvent(name or "message", json.loads("\n".join(data)))
