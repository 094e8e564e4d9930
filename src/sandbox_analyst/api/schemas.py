"""Request and response bodies of the REST API (request bodies for assistants are the
service's own `AssistantCreate` / `AssistantUpdate`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sandbox_analyst.service import Title, default_team_config


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorDetail(BaseModel):
    # Some errors add facts of their own (`quota_exceeded`: quota, limit, used, resets_at).
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="Stable machine-readable error code.")
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class AssistantOut(_Out):
    id: str
    owner_id: str
    name: str
    description: str
    instructions: str
    provider: str | None
    model: str | None
    tools: list[str]
    libraries: list[str]
    timeout_s: float | None
    memory_mb: int | None
    max_iterations: int | None
    visibility: str
    mode: str = Field(description='"single" (one agent) or "team" (roles handing off).')
    team: dict[str, Any] = Field(
        description="The roles and limits team mode runs with (the default team unless set)."
    )
    template: str | None
    allow_installs: bool
    allowed_packages: list[str]
    connections: list[str] | None = Field(
        None,
        description="Ids of the database connections it may query; null: every connection "
        "of the conversation's owner (their own and the shared ones).",
    )
    mcp_tools: list[str] = Field(
        default_factory=list,
        description="Tools of registered MCP servers it may call (server/tool or server/*).",
    )
    egress: list[str] | None = Field(
        None,
        description="An admin's allow-list narrowing its sandboxes' network access below the "
        "template's; [] none; null: the template's as it is.",
    )
    env_vars: dict[str, str] = Field(
        default_factory=dict, description="Environment variables its sandboxes get."
    )
    secret_env_vars: list[str] = Field(
        default_factory=list,
        description="The names of its secret environment variables (never their values): "
        "only its owner's own conversations get them.",
    )
    created_at: datetime
    updated_at: datetime

    @field_validator("env_vars", mode="before")
    @classmethod
    def _no_env(cls, env_vars: dict[str, str] | None) -> dict[str, str]:
        return env_vars or {}

    @field_validator("secret_env_vars", mode="before")
    @classmethod
    def _names_only(cls, secrets: dict[str, str] | list[str] | None) -> list[str]:
        return sorted(secrets or ())

    @field_validator("team", mode="before")
    @classmethod
    def _effective_team(cls, team: dict[str, Any] | None) -> dict[str, Any]:
        return team or default_team_config()


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assistant_id: str = Field(max_length=64)
    title: Title = ""
    external_key: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="The id another front end knows this conversation by (e.g. an Open WebUI "
        "chat id): when one of your conversations already has it, that one is returned (200) "
        "instead of a new one.",
    )


class ConversationRename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title = Field(min_length=1)


class ConversationOut(_Out):
    id: str
    owner_id: str
    assistant_id: str | None
    title: str
    created_at: datetime
    updated_at: datetime


class MessageOut(_Out):
    id: str
    seq: int
    role: str
    content: str
    tool_calls: list[dict[str, Any]]
    tool_results: list[dict[str, Any]]
    artifact_ids: list[str]
    usage: dict[str, Any] | None
    status: str
    error: str | None
    agent: str | None = Field(None, description="In team mode: the role that answered.")
    stop_reason: str | None = Field(
        None, description='Why the turn stopped: "complete", "terminate", "max_messages", ...'
    )
    created_at: datetime
    updated_at: datetime


class ConversationDetailOut(ConversationOut):
    messages: list[MessageOut]


class ConversationFork(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = Field(None, description='Default: "<original title> (fork)".')


class ReplayFailureOut(_Out):
    cell: int = Field(description="Its place among the replayed cells, from 1.")
    code: str
    name: str = Field(description="The error's name, e.g. NameError.")
    value: str


class ReplayOut(_Out):
    status: str = Field(
        description='"replayed": the successful cells ran again in a fresh sandbox, in order '
        '(see `failures`); "nothing": no code had succeeded, the files are copied into its '
        'sandbox on the first turn; "deferred": '
        "no sandbox could be had now (`error` says why), it is rebuilt on the first turn."
    )
    cells_replayed: int
    cells_failed: int
    files: int = Field(description="Files written into the fork's sandbox.")
    failures: list[ReplayFailureOut]
    error: str | None


class ForkOut(BaseModel):
    source_id: str = Field(description="The conversation forked.")
    messages: int = Field(description="Messages copied.")
    files: int = Field(description="Files (uploads and artifacts) copied.")
    replay: ReplayOut


class ForkedConversationOut(ConversationOut):
    fork: ForkOut


class FileOut(_Out):
    id: str
    owner_id: str
    conversation_id: str | None
    name: str
    size: int
    sha256: str
    media_type: str
    kind: str
    created_at: datetime


class FileAttach(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str = Field(max_length=64)


class SignedLinkOut(BaseModel):
    url: str = Field(description="Works without credentials until `expires_at`.")
    expires_at: datetime


class MeOut(BaseModel):
    id: str
    name: str
    role: str


class HealthOut(BaseModel):
    status: str
    database: str


class QuotaOut(_Out):
    name: str = Field(description="sessions, turns_per_day, tokens_per_day, ...")
    limit: float | None = Field(description="null: no limit.")
    own: bool = Field(description="The user's own limit; false: the default for all users.")
    used: float | None = Field(description="Used today (daily quotas) or now; null: unknown.")
    resets_at: datetime | None = Field(description="Daily quotas: the next 00:00 UTC.")
    frees_when: str | None = Field(description="The others: what frees some of it.")


class UserQuotasOut(_Out):
    user_id: str
    name: str
    quotas: list[QuotaOut]
