"""`/api/admin/usage`: per user, turns, tokens, code runs and stored bytes; and
`/api/admin/users/{name}/quota`: a user's quotas, with what they use today (admins only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from sandbox_analyst.api.auth import CurrentPrincipal, ServicesDep
from sandbox_analyst.api.schemas import UserQuotasOut
from sandbox_analyst.service import Forbidden

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
    cpu_seconds: float
    sandbox_minutes: float
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


class QuotasIn(BaseModel):
    """A user's own limits; a quota left out takes the default for all users, null is no
    limit."""

    model_config = ConfigDict(extra="forbid")

    sessions: int | None = Field(None, ge=1, description="Live sandbox sessions at once.")
    turns_per_day: int | None = Field(None, ge=0, description="Chat turns per UTC day.")
    tokens_per_day: int | None = Field(None, ge=0, description="Model tokens per UTC day.")
    cpu_seconds_per_day: float | None = Field(
        None, ge=0, description="Seconds of code running per UTC day (wall-clock)."
    )
    storage_bytes: int | None = Field(None, ge=0, description="Bytes of files kept.")


_USER = Annotated[str, Path(max_length=100, description="The user's name.")]
_ADMIN_ONLY: dict[int | str, dict[str, object]] = {
    403: {"description": "Not an admin."},
    404: {"description": "No such user."},
}


@router.get("/users/{name}/quota", response_model=UserQuotasOut, responses=_ADMIN_ONLY)
async def user_quota(name: _USER, principal: CurrentPrincipal, services: ServicesDep) -> object:
    """The user's quotas: each limit (their own or the default), what is used, when it
    resets."""
    if not principal.is_admin:
        raise Forbidden("only an admin may see another user's quotas")
    return await services.quotas.show(principal, name)


@router.put("/users/{name}/quota", response_model=UserQuotasOut, responses=_ADMIN_ONLY)
async def set_user_quota(
    name: _USER, body: QuotasIn, principal: CurrentPrincipal, services: ServicesDep
) -> object:
    """Replace the user's own limits with these (`{}`: the defaults for all users again)."""
    limits = {field: getattr(body, field) for field in body.model_fields_set}
    return await services.quotas.set_limits(principal, name, limits, replace=True)
