"""The REST API's server-sent events for a chat turn: `event: NAME` + `data: JSON` per event
(streamed by `streaming.TurnEventStream`)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from sandbox_analyst.service import ArtifactEvent, ChatEvent, ToolResultEvent


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


class ChatEventFrames:
    """`TurnFrames` for the REST API: one server-sent event per turn event."""

    def opening(self) -> bytes:
        return b""

    async def frame(self, event: ChatEvent) -> bytes:
        return encode(event)

    async def closing(self) -> bytes:
        return b""
