"""Server-sent events for chat turns: `event: NAME` + `data: JSON` per event, a comment line
as keep-alive while nothing happens, and the turn cancelled when the client goes away."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

from fastapi import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from sandbox_analyst.agent import ArtifactEvent, ToolResultEvent
from sandbox_analyst.service.chat import ChatTurn
from sandbox_analyst.service.chat_events import ChatEvent

KEEPALIVE_S = 5.0
_KEEPALIVE = b": keepalive\n\n"


def wants_event_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


def event_payload(event: ChatEvent) -> dict[str, Any]:
    """What a client is sent for `event` (full outputs were already streamed as they came)."""
    if isinstance(event, ArtifactEvent):
        return {"call_id": event.call_id, "id": event.artifact.file_id, **_artifact(event)}
    if isinstance(event, ToolResultEvent):
        payload = asdict(event)
        del payload["stdout"], payload["stderr"]
        return payload
    return asdict(event)


def _artifact(event: ArtifactEvent) -> dict[str, Any]:
    artifact = event.artifact
    return {
        "name": artifact.name,
        "url": artifact.url,
        "media_type": artifact.media_type,
        "size": artifact.size,
        "markdown": artifact.markdown,
    }


def encode(event: ChatEvent) -> bytes:
    data = json.dumps(event_payload(event), ensure_ascii=False, separators=(",", ":"))
    return f"event: {event.type}\ndata: {data}\n\n".encode()


class TurnEventStream(StreamingResponse):
    """Streams a turn's events. However the response ends (the turn finished, the client
    disconnected, the send failed), a turn still running is cancelled."""

    def __init__(self, turn: ChatTurn, request: Request) -> None:
        self.turn = turn
        self.request = request
        super().__init__(
            self._frames(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.turn.cancel("the client disconnected")

    async def _frames(self) -> AsyncIterator[bytes]:
        while True:
            try:
                event = await self.turn.next_event(KEEPALIVE_S)
            except TimeoutError:
                # Long silent code: the keep-alive also tells us when the client is gone.
                if await self.request.is_disconnected():
                    return
                yield _KEEPALIVE
                continue
            if event is None:
                return
            yield encode(event)
