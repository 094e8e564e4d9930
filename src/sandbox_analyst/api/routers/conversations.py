"""`/api/conversations`: create (with an assistant; or find the one under another front end's
key), list mine, get with messages, rename, delete (with its files and its sandbox), fork
(messages and files copied, the sandbox rebuilt by replaying the successful cells)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from sandbox_analyst.api.auth import CurrentPrincipal, ServicesDep
from sandbox_analyst.api.schemas import (
    ConversationCreate,
    ConversationDetailOut,
    ConversationFork,
    ConversationOut,
    ConversationRename,
    ForkedConversationOut,
    ForkOut,
    MessageOut,
    ReplayOut,
)
from sandbox_analyst.service import Conflict

router = APIRouter(prefix="/api/conversations", tags=["conversations"])
_API_KEY_PREFIX = "api:"


@router.post("", status_code=201, response_model=ConversationOut, responses={200: {}})
async def create_conversation(
    body: ConversationCreate,
    principal: CurrentPrincipal,
    services: ServicesDep,
    response: Response,
) -> object:
    """A new conversation with the assistant; with `external_key`, the one already under
    that key (200) when there is one."""
    if body.external_key is None:
        return await services.conversations.create(principal, body.assistant_id, title=body.title)
    # Apart from the keys `/v1` derives from chat front ends' headers.
    key = f"{_API_KEY_PREFIX}{body.external_key}"
    existing = await services.conversations.find_external_key(principal, key)
    if existing is None:
        return await services.conversations.for_external_key(
            principal, body.assistant_id, key, title=body.title
        )
    if existing.assistant_id != body.assistant_id:
        raise Conflict(
            "this external_key belongs to a conversation with another assistant; use a key "
            "per assistant",
            field="external_key",
        )
    response.status_code = 200
    return existing


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


@router.post("/{conversation_id}/fork", status_code=201, response_model=ForkedConversationOut)
async def fork_conversation(
    conversation_id: str,
    principal: CurrentPrincipal,
    services: ServicesDep,
    body: ConversationFork | None = None,
) -> ForkedConversationOut:
    """A new conversation of yours with this one's messages and files, and a fresh sandbox
    in the same state: its successful cells replayed in order (`fork.replay` says how that
    went). From then on the two diverge independently."""
    forked = await services.forks.fork(
        principal, conversation_id, title=body.title if body is not None else None
    )
    return ForkedConversationOut(
        **ConversationOut.model_validate(forked.conversation).model_dump(),
        fork=ForkOut(
            source_id=forked.source_id,
            messages=forked.messages,
            files=forked.files,
            replay=ReplayOut.model_validate(forked.replay),
        ),
    )
