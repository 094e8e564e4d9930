"""`/api/connections`: the database connections the agent may query (read-only). Add one with
its URL (stored encrypted, never shown again: answers carry it with the password masked),
list the ones you may use (yours and the shared ones), test, remove, and read the audit log of
what the agent ran on it. Sharing one, and naming a database file on the server, is for
admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from sandbox_analyst.api.auth import CurrentPrincipal, ServicesDep
from sandbox_analyst.service import ConnectionCreate

router = APIRouter(prefix="/api/connections", tags=["connections"])


class ConnectionOut(BaseModel):
    id: str
    name: str
    description: str
    dialect: str = Field(description="postgresql, mysql, sqlite or duckdb.")
    url: str = Field(description="The URL with its password masked.")
    shared: bool = Field(description="Usable by everyone.")
    owner_id: str
    created_at: datetime


class ConnectionCheckOut(BaseModel):
    ok: bool
    detail: str = Field(description="The server's version, or why it could not be reached.")
    seconds: float


class QueryLogEntry(BaseModel):
    id: str
    owner_id: str
    connection_id: str
    connection_name: str
    conversation_id: str | None
    operation: str = Field(description="query, tables or describe.")
    statement: str
    outcome: str = Field(description="ok, error, refused, timeout or unreachable.")
    rows: int | None
    truncated: bool
    duration_s: float | None
    error: str | None
    created_at: datetime


def _out(record) -> ConnectionOut:
    return ConnectionOut(
        id=record.id,
        name=record.name,
        description=record.description,
        dialect=record.dialect,
        url=record.url_masked,
        shared=record.shared,
        owner_id=record.owner_id,
        created_at=record.created_at,
    )


@router.post("", status_code=201, response_model=ConnectionOut)
async def add_connection(
    body: ConnectionCreate, principal: CurrentPrincipal, services: ServicesDep
) -> ConnectionOut:
    return _out(await services.connections.create(principal, body))


@router.get("", response_model=list[ConnectionOut])
async def list_connections(
    principal: CurrentPrincipal, services: ServicesDep
) -> list[ConnectionOut]:
    return [_out(record) for record in await services.connections.list(principal)]


@router.get("/{ref}", response_model=ConnectionOut)
async def get_connection(ref: str, principal: CurrentPrincipal, services: ServicesDep) -> object:
    return _out(await services.connections.get(principal, ref))


@router.delete("/{ref}", status_code=204)
async def remove_connection(
    ref: str, principal: CurrentPrincipal, services: ServicesDep
) -> Response:
    await services.connections.delete(principal, ref)
    return Response(status_code=204)


@router.post("/{ref}/test", response_model=ConnectionCheckOut)
async def test_connection(
    ref: str, principal: CurrentPrincipal, services: ServicesDep
) -> ConnectionCheckOut:
    check = await services.connections.test(principal, ref)
    return ConnectionCheckOut(ok=check.ok, detail=check.detail, seconds=check.seconds)


@router.get("/{ref}/queries", response_model=list[QueryLogEntry])
async def connection_queries(
    ref: str,
    principal: CurrentPrincipal,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> object:
    entries = await services.connections.queries(principal, ref=ref, limit=limit)
    return [QueryLogEntry.model_validate(entry, from_attributes=True) for entry in entries]
