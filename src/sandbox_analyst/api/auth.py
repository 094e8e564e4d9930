"""Who is calling: a Bearer API key, or — in single-user mode on a loopback address — the
local admin without any credentials."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sandbox_analyst.service import Principal, Services, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="An API key: `analyst keys create USER`.")


def services(request: Request) -> Services:
    return request.app.state.services


async def optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    local: Principal | None = getattr(request.app.state, "local_principal", None)
    if credentials is None:
        return local
    return await services(request).users.authenticate(credentials.credentials)


async def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthorized("authentication required: send `Authorization: Bearer <API key>`")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
ServicesDep = Annotated[Services, Depends(services)]
