"""`/api/health` (liveness + database), `/api/me` and `/api/me/quota` (the caller's quotas,
what they use today and when each resets)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from sandbox_analyst.api.auth import CurrentPrincipal, ServicesDep
from sandbox_analyst.api.schemas import HealthOut, MeOut, UserQuotasOut

router = APIRouter(prefix="/api", tags=["system"])


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
async def health(services: ServicesDep) -> object:
    if await services.db.ping():
        return HealthOut(status="ok", database="ok")
    body = HealthOut(status="degraded", database="unreachable")
    return JSONResponse(body.model_dump(), status_code=503)


@router.get("/me", response_model=MeOut)
async def me(principal: CurrentPrincipal) -> MeOut:
    return MeOut(
        id=principal.user_id, name=principal.name, role="admin" if principal.is_admin else "user"
    )


@router.get("/me/quota", response_model=UserQuotasOut)
async def my_quota(principal: CurrentPrincipal, services: ServicesDep) -> object:
    """The caller's quotas: each limit, what is used, when it resets."""
    return await services.quotas.show(principal, principal.name)
