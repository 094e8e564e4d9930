"""Reading a turn's server-sent events off the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sandbox_analyst.client import TurnEvent
from sandbox_analyst.client.events import parse_event_stream


async def lines(*items: str) -> AsyncIterator[str]:
    for item in items:
        yield item


async def test_events_are_named_and_decoded_and_keepalives_skipped() -> None:
    stream = lines(
        "event: token",
        'data: {"text": "Hi"}',
        "",
        ": keepalive",
        "",
        "event: message_end",
        'data: {"status":',
        'data:  "complete"}',
        "",
    )

    events = [event async for event in parse_event_stream(stream)]

    assert events == [
        TurnEvent("token", {"text": "Hi"}),
        TurnEvent("message_end", {"status": "complete"}),
    ]


async def test_a_last_event_without_its_blank_line_is_not_lost() -> None:
    events = [e async for e in parse_event_stream(lines("event: error", 'data: {"code": "x"}'))]

    assert events == [TurnEvent("error", {"code": "x"})]
