"""`/api/conversations/{id}/messages` (run one chat turn, streamed as server-sent events with
`Accept: text/event-stream`, else answered as JSON once it ends) and
`/api/conversations/{id}/cancel` (stop the running turn).

One turn at a time per conversation: a second POST while one runs gets 409."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sandbox_analyst.api.auth import CurrentPrincipal, ServicesDep
from sandbox_analyst.api.schemas import MessageOut
from sandbox_analyst.api.sse import ChatEventFrames
from sandbox_analyst.api.streaming import TurnEventStream, wants_event_stream
from sandbox_analyst.service import content_url

router = APIRouter(prefix="/api/conversations", tags=["chat"])

_EVENT_STREAM = {
    "description": "The turn's events (`Accept: text/event-stream`): message_start, token, "
    "tool_call, stdout, stderr, result, artifact, tool_result, sandbox_restored, error, "
    "message_end.",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
    file_ids: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        default_factory=list, max_length=50, description="Uploads to attach before the turn."
    )


class ArtifactOut(BaseModel):
    id: str
    name: str
    url: str
    media_type: str
    size: int


class TurnOut(MessageOut):
    user_message_id: str
    artifacts: list[ArtifactOut]


class CancelOut(BaseModel):
    cancelled: bool = Field(description="False when no turn was running.")


@router.post("/{conversation_id}/messages", response_model=TurnOut, responses={200: _EVENT_STREAM})
async def post_message(
    conversation_id: str,
    body: MessageCreate,
    request: Request,
    principal: CurrentPrincipal,
    services: ServicesDep,
) -> Any:
    """Ask the conversation's assistant. The turn is stored as it runs; a client that
    disconnects from the event stream cancels it (stored as `cancelled`)."""
    turn = await services.chat.start_turn(
        principal, conversation_id, body.content, file_ids=body.file_ids
    )
    if wants_event_stream(request):
        return TurnEventStream(turn, request, ChatEventFrames())
    try:
        outcome = await services.chat.outcome(turn)
    finally:
        turn.cancel("the request ended")
    public_url = services.settings.server.public_url
    return TurnOut(
        **MessageOut.model_validate(outcome.message).model_dump(),
        user_message_id=turn.user_message.id,
        artifacts=[
            ArtifactOut(
                id=record.id,
                name=record.name,
                url=content_url(record.id, public_url),
                media_type=record.media_type,
                size=record.size,
            )
            for record in outcome.artifacts
        ],
    )


@router.post("/{conversation_id}/cancel", response_model=CancelOut)
async def cancel_turn(
    conversation_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> CancelOut:
    """Stop the conversation's running turn (its code is interrupted; it is stored as
    `cancelled`)."""
    return CancelOut(cancelled=await services.chat.cancel(principal, conversation_id))
