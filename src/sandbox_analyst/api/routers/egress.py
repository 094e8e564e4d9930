"""`/api/admin/egress`: the audit log of sandbox egress, every connection a session made
through the egress proxy or was refused (admins only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from sandbox_analyst.api.auth import CurrentPrincipal, ServicesDep
from sandbox_analyst.service import EgressQuery

router = APIRouter(prefix="/api/admin", tags=["operations"])


class EgressConnectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    sandbox_id: str
    owner_id: str | None
    purpose: str | None
    method: str
    host: str
    port: int
    path: str | None
    allowed: bool
    reason: str
    address: str | None
    bytes_sent: int
    bytes_received: int
    started_at: datetime
    duration_s: float


@router.get(
    "/egress",
    response_model=list[EgressConnectionOut],
    responses={403: {"description": "Not an admin."}, 404: {"description": "No such user."}},
)
async def egress_log(
    principal: CurrentPrincipal,
    services: ServicesDep,
    user: Annotated[str | None, Query(max_length=100, description="One user's name.")] = None,
    sandbox_id: Annotated[str | None, Query(max_length=64)] = None,
    denied: Annotated[bool, Query(description="Only the refused connections.")] = False,
    since: Annotated[
        datetime | None, Query(description="From this time (ISO 8601; UTC if no zone).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> object:
    """The newest connections first: who (the session's owner and purpose), where to, whether
    the policy let it through and why, and the bytes each way."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    query = EgressQuery(user, sandbox_id, denied, since, limit)
    return await services.egress.list(principal, query)
