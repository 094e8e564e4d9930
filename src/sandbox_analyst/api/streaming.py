"""How a chat turn streams over HTTP, for every front end that streams one (REST's server-sent
events, `/v1`'s completion chunks): a `text/event-stream` response, a keep-alive comment while
the turn is silent (long-running code) that also notices a client that went away, and the turn
cancelled however the response ends (the turn finished, the client disconnected, a send
failed). A front end only says how the turn's events become bytes (`TurnFrames`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Protocol

from fastapi import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from sandbox_analyst.service import ChatEvent, ChatTurn

KEEPALIVE_S = 5.0
KEEPALIVE = b": keepalive\n\n"
# How soon a client that went away is noticed while the turn is silent: its code is stopped
# then, not at the next keep-alive (the server may not see the hang-up until it writes).
DISCONNECT_CHECK_S = 0.5


def wants_event_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


class TurnFrames(Protocol):
    """What a front end sends for a turn: bytes before its first event, for each event (b""
    for none), and after its last."""

    def opening(self) -> bytes: ...

    async def frame(self, event: ChatEvent) -> bytes: ...

    async def closing(self) -> bytes: ...


class EventStreamResponse(StreamingResponse):
    """Server-sent events from `frames`; `on_close` runs however the response ends."""

    def __init__(
        self, frames: AsyncIterator[bytes], on_close: Callable[[], object] = lambda: None
    ) -> None:
        self.on_close = on_close
        super().__init__(
            frames,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_close()


class TurnEventStream(EventStreamResponse):
    """A turn's events as `frames` writes them, with keep-alives; a turn still running when
    the response ends is cancelled (its client has gone)."""

    def __init__(self, turn: ChatTurn, request: Request, frames: TurnFrames) -> None:
        self.turn = turn
        super().__init__(
            _turn_frames(turn, request, frames),
            on_close=lambda: turn.cancel("the client disconnected"),
        )


async def _turn_frames(
    turn: ChatTurn, request: Request, frames: TurnFrames
) -> AsyncIterator[bytes]:
    if opening := frames.opening():
        yield opening
    check = min(DISCONNECT_CHECK_S, KEEPALIVE_S)
    silent = 0.0
    while True:
        try:
            event = await turn.next_event(check)
        except TimeoutError:
            # Long silent code: is the client still there? And keep the line alive.
            if await request.is_disconnected():
                return
            silent += check
            if silent >= KEEPALIVE_S:
                silent = 0.0
                yield KEEPALIVE
            continue
        silent = 0.0
        if event is None:
            break
        if frame := await frames.frame(event):
            yield frame
    if closing := await frames.closing():
        yield closing
