"""Assistants: configured analysts (instructions, model, tools, libraries, limits) that people
chat with. Private by default; publishing makes one readable and usable by everyone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sandbox_analyst.service import access
from sandbox_analyst.service.errors import Conflict
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.team_config import Mode, TeamConfig
from sandbox_analyst.service.text import Description, Identifier, Instructions, Name
from sandbox_analyst.store import Assistant, Database, looks_like_id

Visibility = Literal["private", "public"]
Provider = Literal["openai", "anthropic"]


class AssistantFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Description = ""
    instructions: Instructions = ""
    provider: Provider | None = None
    model: Identifier | None = Field(None, description="Model name; default from settings.")
    tools: list[Identifier] = Field(default_factory=list, max_length=32)
    libraries: list[Identifier] = Field(default_factory=list, max_length=200)
    timeout_s: float | None = Field(None, gt=0, le=3600, description="Seconds per cell.")
    memory_mb: int | None = Field(None, ge=512, le=262_144)
    max_iterations: int | None = Field(None, ge=1, le=100)
    visibility: Visibility = "private"
    mode: Mode = Field("single", description="One agent, or a team of roles handing off.")
    team: TeamConfig | None = Field(
        None, description="The team's roles and limits in team mode; null: the default team."
    )


class AssistantCreate(AssistantFields):
    name: Name


class AssistantUpdate(BaseModel):
    """Only the fields present are changed; `null` clears the optional ones."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    instructions: Instructions | None = None
    provider: Provider | None = None
    model: Identifier | None = None
    tools: list[Identifier] | None = Field(None, max_length=32)
    libraries: list[Identifier] | None = Field(None, max_length=200)
    timeout_s: float | None = Field(None, gt=0, le=3600)
    memory_mb: int | None = Field(None, ge=512, le=262_144)
    max_iterations: int | None = Field(None, ge=1, le=100)
    visibility: Visibility | None = None
    mode: Mode | None = None
    team: TeamConfig | None = None


# Fields that cannot be empty: `null` in an update leaves them as they are.
_REQUIRED = {"name", "description", "instructions", "tools", "libraries", "visibility", "mode"}


class AssistantService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, principal: Principal, spec: AssistantCreate) -> Assistant:
        assistant = Assistant(owner_id=principal.user_id, **spec.model_dump())
        async with _unique_name(spec.name), self._db.session() as session:
            session.add(assistant)
        return assistant

    async def list(
        self,
        principal: Principal,
        *,
        visibility: Visibility | None = None,
        mine: bool = False,
        query: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Assistant]:
        statement = select(Assistant).where(access.visible_assistants(principal))
        if visibility is not None:
            statement = statement.where(Assistant.visibility == visibility)
        if mine:
            statement = statement.where(Assistant.owner_id == principal.user_id)
        if query:
            statement = statement.where(
                func.lower(Assistant.name).contains(query.lower(), autoescape=True)
            )
        statement = statement.order_by(Assistant.created_at.desc(), Assistant.id)
        async with self._db.session() as session:
            return list(await session.scalars(statement.limit(limit).offset(offset)))

    async def get(self, principal: Principal, assistant_id: str) -> Assistant:
        async with self._db.session() as session:
            return access.ensure_can_read_assistant(
                principal, await self._load(session, assistant_id)
            )

    async def update(
        self, principal: Principal, assistant_id: str, changes: AssistantUpdate
    ) -> Assistant:
        values = changes.model_dump(include=changes.model_fields_set)
        values = {k: v for k, v in values.items() if v is not None or k not in _REQUIRED}
        async with _unique_name(values.get("name", "")), self._db.session() as session:
            assistant = access.ensure_can_modify_assistant(
                principal, await self._load(session, assistant_id)
            )
            for key, value in values.items():
                setattr(assistant, key, value)
        return assistant

    async def set_visibility(
        self, principal: Principal, assistant_id: str, visibility: Visibility
    ) -> Assistant:
        return await self.update(principal, assistant_id, AssistantUpdate(visibility=visibility))

    async def delete(self, principal: Principal, assistant_id: str) -> None:
        async with self._db.session() as session:
            assistant = access.ensure_can_modify_assistant(
                principal, await self._load(session, assistant_id)
            )
            await session.delete(assistant)

    @staticmethod
    async def _load(session: AsyncSession, assistant_id: str) -> Assistant | None:
        return await session.get(Assistant, assistant_id) if looks_like_id(assistant_id) else None


@asynccontextmanager
async def _unique_name(name: str) -> AsyncIterator[None]:
    """Turns the unique (owner, name) violation into a Conflict that names the field."""
    try:
        yield
    except IntegrityError:
        raise Conflict(f"you already have an assistant named {name!r}", field="name") from None
