"""`/api/conversations`: create (with an assistant), list mine, get with messages, rename,
delete (with its files and its sandbox)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from sandbox_analyst.api.auth import CurrentPrincipal, ServicesDep
from sandbox_analyst.api.schemas import (
    ConversationCreate,
    ConversationDetailOut,
    ConversationOut,
    ConversationRename,
    MessageOut,
)

router = APIRouter(prefix="/api/conversations", tags=["conversations"])


@router.post("", status_code=201, response_model=ConversationOut)
async def create_conversation(
    body: ConversationCreate, principal: CurrentPrincipal, services: ServicesDep
) -> object:
    return await services.conversations.create(principal, body.assistant_id, title=body.title)


@router.get("", response_model=list[ConversationOut])
async def list_conversations(
    principal: CurrentPrincipal,
    services: ServicesDep,
    assistant_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> object:
    return await services.conversations.list(
        principal, assistant_id=assistant_id, limit=limit, offset=offset
    )


@router.get("/{conversation_id}", response_model=ConversationDetailOut)
async def get_conversation(
    conversation_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> ConversationDetailOut:
    detail = await services.conversations.get(principal, conversation_id)
    return ConversationDetailOut(
        **ConversationOut.model_validate(detail.conversation).model_dump(),
        messages=[MessageOut.model_validate(m) for m in detail.messages],
    )


@router.patch("/{conversation_id}", response_model=ConversationOut)
async def rename_conversation(
    conversation_id: str,
    body: ConversationRename,
    principal: CurrentPrincipal,
    services: ServicesDep,
) -> object:
    return await services.conversations.rename(principal, conversation_id, body.title)


@router.delete("/{conversation_id}", status_code=204)
async def delete_conversation(
    conversation_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Response:
    await services.conversations.delete(principal, conversation_id)
    return Response(status_code=204)
