"""Who is calling and which sandbox they reach."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sandbox_analyst.api.e2b.errors import SandboxGone
from sandbox_analyst.api.e2b.routing import SandboxTarget, access_token, sandbox_target
from sandbox_analyst.service import Principal, Services, Unauthorized
from sandbox_analyst.service.e2b import LiveSandbox, SandboxNotRunning


def services(request: Request) -> Services:
    return request.app.state.services


async def api_principal(request: Request) -> Principal:
    """The control plane's caller: one of our API keys in `X-API-Key` (as the SDKs send it)
    or as a Bearer token."""
    key = request.headers.get("x-api-key")
    if not key:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        key = credentials.strip() if scheme.lower() == "bearer" else ""
    if not key:
        local: Principal | None = request.app.state.local_principal
        if local is not None:
            return local
        raise Unauthorized("authentication required: send one of this server's API keys")
    return await services(request).users.authenticate(key)


def target(request: Request) -> SandboxTarget:
    found = sandbox_target(request)
    if found is None:
        raise Unauthorized(
            "which sandbox? send the E2b-Sandbox-Id header (the SDKs do), or address "
            "<port>-<sandbox id>.<domain>"
        )
    return found


def running_sandbox(request: Request) -> LiveSandbox:
    """The sandbox a data-plane request is for, checked against its access token."""
    found = target(request)
    try:
        return services(request).e2b.reach(found.sandbox_id, access_token(request))
    except SandboxNotRunning:
        raise SandboxGone(found.sandbox_id) from None


def file_sandbox(request: Request) -> LiveSandbox:
    """For `/files`: the access token, or a presigned URL's `signature` (a browser following
    a download link sends no headers)."""
    signature = request.query_params.get("signature")
    if signature is None or access_token(request) is not None:
        return running_sandbox(request)
    found = target(request)
    expiration = request.query_params.get("signature_expiration")
    try:
        return services(request).e2b.reach_signed(
            found.sandbox_id,
            path=request.query_params.get("path", ""),
            operation="read" if request.method == "GET" else "write",
            user=request.query_params.get("username", ""),
            signature=signature,
            expiration=int(expiration) if expiration and expiration.isdigit() else None,
        )
    except SandboxNotRunning:
        raise SandboxGone(found.sandbox_id) from None


CurrentPrincipal = Annotated[Principal, Depends(api_principal)]
RunningSandbox = Annotated[LiveSandbox, Depends(running_sandbox)]
FileSandbox = Annotated[LiveSandbox, Depends(file_sandbox)]
ServicesDep = Annotated[Services, Depends(services)]
