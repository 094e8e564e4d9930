"""`/api/templates`: the sandbox templates an assistant may name (the web UI's assistant
editor offers the usable ones)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sandbox_analyst.api.auth import CurrentPrincipal, ServicesDep

router = APIRouter(prefix="/api", tags=["templates"])

# States whose sessions can start: built (or built in), or built from an older spec.
_USABLE = ("built-in", "built", "outdated")


class TemplateOut(BaseModel):
    name: str
    state: str = Field(
        description="built-in, built, outdated (the file changed since the build: sessions "
        "use the last build), not built, invalid or removed."
    )
    description: str
    usable: bool = Field(description="Sessions of it can start now.")
    error: str | None = Field(None, description="Why the template file is invalid.")
    egress: list[str] | None = Field(
        None,
        description="The host:port entries it narrows the server's egress allow-list to; "
        "[] no network; null: the server's list as it is.",
    )


@router.get("/templates", response_model=list[TemplateOut])
async def list_templates(principal: CurrentPrincipal, services: ServicesDep) -> list[TemplateOut]:
    del principal  # any signed-in user may see which templates exist
    statuses = await asyncio.to_thread(services.templates.statuses)
    return [
        TemplateOut(
            name=status.name,
            state=status.state,
            description=status.description,
            usable=status.state in _USABLE,
            error=status.error,
            egress=None if status.egress is None else list(status.egress),
        )
        for status in statuses
        if status.state != "removed"
    ]
