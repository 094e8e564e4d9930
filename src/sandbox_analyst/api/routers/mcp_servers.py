"""`/api/admin/mcp-servers`: the MCP servers whose tools assistants may be allowed to call
(admins only): register one (a stdio command, or a streamable HTTP URL with headers; header
and env values are stored encrypted and answers carry only their names), list, show, enable or
disable, test, list its tools, remove, and read the call log. `/api/mcp-tools`: what an
assistant's owner may pick from (each enabled server's tools, as `server/tool` entries)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from sandbox_analyst.api.auth import CurrentPrincipal, ServicesDep
from sandbox_analyst.service import ListedTool, McpServerCreate

router = APIRouter(tags=["mcp servers"])
_ADMIN = "/api/admin/mcp-servers"
_FORBIDDEN = {403: {"description": "Not an admin."}}


class McpServerOut(BaseModel):
    id: str
    name: str
    description: str
    transport: str = Field(description="stdio or http.")
    command: str | None
    args: list[str]
    url: str | None
    env: list[str] = Field(description="The names of its environment variables (not values).")
    headers: list[str] = Field(description="The names of its headers (never their values).")
    enabled: bool
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class McpToolOut(BaseModel):
    name: str
    entry: str = Field(description="What an assistant's mcp_tools names it by: server/tool.")
    description: str
    input_schema: dict


class McpServerCheckOut(BaseModel):
    ok: bool
    detail: str = Field(description="How many tools it offers, or why it cannot be used.")
    tools: list[McpToolOut]
    seconds: float


class McpServerEnabled(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool


class McpCatalogOut(BaseModel):
    server: str
    description: str
    tools: list[McpToolOut]
    error: str | None = Field(description="Why its tools cannot be listed now, if so.")


class McpCallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    server_id: str
    server_name: str
    tool: str
    assistant_id: str | None
    owner_id: str
    conversation_id: str | None
    started_at: datetime
    duration_s: float | None
    outcome: str = Field(description="ok, error, timeout or unreachable.")
    error: str | None
    arguments: str = Field(description="The arguments as JSON, truncated.")
    argument_bytes: int
    result_bytes: int


def _out(record) -> McpServerOut:
    return McpServerOut(
        id=record.id,
        name=record.name,
        description=record.description,
        transport=record.transport,
        command=record.command,
        args=list(record.args or []),
        url=record.url,
        env=sorted(record.env_encrypted or {}),
        headers=sorted(record.headers_encrypted or {}),
        enabled=record.enabled,
        created_by=record.created_by,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def _tools(server: str, tools: list[ListedTool]) -> list[McpToolOut]:
    return [
        McpToolOut(
            name=tool.name,
            entry=f"{server}/{tool.name}",
            description=tool.description,
            input_schema=tool.input_schema,
        )
        for tool in tools
    ]


@router.post(_ADMIN, status_code=201, response_model=McpServerOut, responses=_FORBIDDEN)
async def register_mcp_server(
    body: McpServerCreate, principal: CurrentPrincipal, services: ServicesDep
) -> McpServerOut:
    """Register a server; test it with POST .../{name}/test."""
    return _out(await services.mcp_servers.create(principal, body))


@router.get(_ADMIN, response_model=list[McpServerOut], responses=_FORBIDDEN)
async def list_mcp_servers(principal: CurrentPrincipal, services: ServicesDep) -> object:
    return [_out(record) for record in await services.mcp_servers.list(principal)]


@router.get(_ADMIN + "/calls", response_model=list[McpCallOut], responses=_FORBIDDEN)
async def mcp_tool_calls(
    principal: CurrentPrincipal,
    services: ServicesDep,
    server: Annotated[str | None, Query(max_length=64, description="One server's calls.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> object:
    """The call log, newest first: everyone's for an admin, one's own for anyone else."""
    entries = await services.mcp_servers.calls(principal, ref=server, limit=limit)
    return [McpCallOut.model_validate(entry) for entry in entries]


@router.get(_ADMIN + "/{ref}", response_model=McpServerOut, responses=_FORBIDDEN)
async def get_mcp_server(ref: str, principal: CurrentPrincipal, services: ServicesDep) -> object:
    return _out(await services.mcp_servers.get(principal, ref))


@router.patch(_ADMIN + "/{ref}", response_model=McpServerOut, responses=_FORBIDDEN)
async def enable_mcp_server(
    ref: str, body: McpServerEnabled, principal: CurrentPrincipal, services: ServicesDep
) -> object:
    return _out(await services.mcp_servers.set_enabled(principal, ref, body.enabled))


@router.delete(_ADMIN + "/{ref}", status_code=204, responses=_FORBIDDEN)
async def remove_mcp_server(
    ref: str, principal: CurrentPrincipal, services: ServicesDep
) -> Response:
    await services.mcp_servers.delete(principal, ref)
    return Response(status_code=204)


@router.post(_ADMIN + "/{ref}/test", response_model=McpServerCheckOut, responses=_FORBIDDEN)
async def test_mcp_server(
    ref: str, principal: CurrentPrincipal, services: ServicesDep
) -> McpServerCheckOut:
    """Connect, list its tools, and say how that went (never an error status: `ok`)."""
    record = await services.mcp_servers.get(principal, ref)
    check = await services.mcp_servers.test(principal, ref)
    return McpServerCheckOut(
        ok=check.ok,
        detail=check.detail,
        tools=_tools(record.name, check.tools),
        seconds=check.seconds,
    )


@router.get(_ADMIN + "/{ref}/tools", response_model=list[McpToolOut], responses=_FORBIDDEN)
async def mcp_server_tools(ref: str, principal: CurrentPrincipal, services: ServicesDep) -> object:
    record = await services.mcp_servers.get(principal, ref)
    return _tools(record.name, await services.mcp_servers.tools(principal, ref))


@router.get("/api/mcp-tools", response_model=list[McpCatalogOut])
async def mcp_tool_catalog(principal: CurrentPrincipal, services: ServicesDep) -> object:
    """The tools of the enabled MCP servers, for an assistant's `mcp_tools` (anyone signed in;
    nothing of how a server is reached is shown)."""
    return [
        McpCatalogOut(
            server=entry.server,
            description=entry.description,
            tools=_tools(entry.server, entry.tools),
            error=entry.error,
        )
        for entry in await services.mcp_servers.catalog(principal)
    ]
