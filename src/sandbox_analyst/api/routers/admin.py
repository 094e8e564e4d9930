"""`/api/admin/usage`: per user, turns, tokens, code runs and stored bytes (admins only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from sandbox_analyst.api.auth import CurrentPrincipal, ServicesDep

router = APIRouter(prefix="/api/admin", tags=["operations"])


class UsageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: str
    name: str
    turns: int
    turns_by_status: dict[str, int]
    input_tokens: int
    output_tokens: int
    executions: int
    execution_seconds: float
    storage_bytes: int
    files: int


@router.get(
    "/usage", response_model=list[UsageOut], responses={403: {"description": "Not an admin."}}
)
async def usage(
    principal: CurrentPrincipal,
    services: ServicesDep,
    since: Annotated[
        datetime | None,
        Query(description="Count turns and code runs from this time (ISO 8601; UTC if no zone)."),
    ] = None,
    user: Annotated[str | None, Query(max_length=100, description="One user's name.")] = None,
) -> object:
    """Per user: chat turns by status, the tokens their models read and wrote, code runs and
    their wall-clock seconds (since `since`), and the files and bytes they store now."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return await services.usage.report(principal, since=since, user=user)
