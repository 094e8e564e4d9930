"""`/api/assistants`: create, list (mine + public), get, update, delete, publish, unpublish."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from sandbox_analyst.api.auth import CurrentPrincipal, ServicesDep
from sandbox_analyst.api.schemas import AssistantOut
from sandbox_analyst.service import AssistantCreate, AssistantUpdate, Title, Visibility

router = APIRouter(prefix="/api/assistants", tags=["assistants"])


@router.post("", status_code=201, response_model=AssistantOut)
async def create_assistant(
    body: AssistantCreate, principal: CurrentPrincipal, services: ServicesDep
) -> object:
    return await services.assistants.create(principal, body)


@router.get("", response_model=list[AssistantOut])
async def list_assistants(
    principal: CurrentPrincipal,
    services: ServicesDep,
    visibility: Visibility | None = None,
    mine: Annotated[bool, Query(description="Only assistants I own.")] = False,
    q: Annotated[Title | None, Query(description="Name contains (case-insensitive).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> object:
    return await services.assistants.list(
        principal, visibility=visibility, mine=mine, query=q, limit=limit, offset=offset
    )


@router.get("/{assistant_id}", response_model=AssistantOut)
async def get_assistant(
    assistant_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> object:
    return await services.assistants.get(principal, assistant_id)


@router.patch("/{assistant_id}", response_model=AssistantOut)
async def update_assistant(
    assistant_id: str, body: AssistantUpdate, principal: CurrentPrincipal, services: ServicesDep
) -> object:
    return await services.assistants.update(principal, assistant_id, body)


@router.delete("/{assistant_id}", status_code=204)
async def delete_assistant(
    assistant_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Response:
    await services.assistants.delete(principal, assistant_id)
    return Response(status_code=204)


@router.post("/{assistant_id}/publish", response_model=AssistantOut)
async def publish_assistant(
    assistant_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> object:
    return await services.assistants.set_visibility(principal, assistant_id, "public")


@router.post("/{assistant_id}/unpublish", response_model=AssistantOut)
async def unpublish_assistant(
    assistant_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> object:
    return await services.assistants.set_visibility(principal, assistant_id, "private")
