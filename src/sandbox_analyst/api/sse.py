"""The REST API's server-sent events for a chat turn: `event: NAME` + `data: JSON` per event
(streamed by `streaming.TurnEventStream`)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from sandbox_analyst.service import ArtifactEvent, ChatEvent, HandoffEvent, ToolResultEvent


def event_payload(event: ChatEvent) -> dict[str, Any]:
    """What a client is sent for `event` (full outputs were already streamed as they came).
    In a team turn every event names its role in `agent`; outside one, `agent` is left out."""
    if isinstance(event, ArtifactEvent):
        payload = {"call_id": event.call_id, "id": event.artifact.file_id, **_artifact(event)}
        payload["agent"] = event.agent
    elif isinstance(event, HandoffEvent):
        payload = {"call_id": event.call_id, "from": event.agent, "to": event.to}
        payload |= {"reason": event.reason, "agent": event.agent}
    else:
        payload = asdict(event)
    if isinstance(event, ToolResultEvent):
        del payload["stdout"], payload["stderr"]
    if payload.get("agent", "") is None:
        del payload["agent"]
    return payload


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
