"""Assistants: configured analysts (instructions, model, tools, libraries, limits) that people
chat with. Private by default; publishing makes one readable and usable by everyone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Literal, Protocol

from packaging.requirements import InvalidRequirement, Requirement
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sandbox_analyst.sandbox import SessionSpec
from sandbox_analyst.sandbox.egress import AllowEntry
from sandbox_analyst.service import access
from sandbox_analyst.service.errors import Conflict, Forbidden, ServiceError, ValidationError
from sandbox_analyst.service.mcp_servers.specs import ToolPattern
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.secret_cipher import SecretCipher, UndecryptableSecret
from sandbox_analyst.service.team_config import Mode, TeamConfig
from sandbox_analyst.service.text import Description, Identifier, Instructions, Name
from sandbox_analyst.store import Assistant, Database, looks_like_id

Visibility = Literal["private", "public"]
Provider = Literal["openai", "anthropic"]
TemplateName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


def _package_entry(value: str) -> str:
    value = value.strip()
    if value == "*":
        return value
    try:
        requirement = Requirement(value)
    except InvalidRequirement as exc:
        raise ValueError(f"{value!r} is not a package name or requirement") from exc
    if requirement.url or requirement.marker or requirement.extras:
        raise ValueError(f"{value!r}: only a name and an optional version range")
    return value


PackageEntry = Annotated[str, Field(max_length=200), AfterValidator(_package_entry)]
# EgressPolicyError is a ValueError: a bad entry is a clear field error. Kept as parsed, so
# that the editor shows what the proxy checks.
EgressEntry = Annotated[
    str, Field(max_length=300), AfterValidator(lambda text: str(AllowEntry.parse(text)))
]
McpToolEntry = Annotated[
    str,
    Field(max_length=265, description="server/tool, or server/* for every tool of the server."),
    AfterValidator(lambda text: str(ToolPattern.parse(text))),
]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]


def _env_value(value: str) -> str:
    if "\x00" in value:
        raise ValueError("an environment variable's value cannot hold a NUL character")
    return value


EnvValue = Annotated[str, Field(max_length=16_384), AfterValidator(_env_value)]


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
    template: TemplateName | None = Field(
        None, description="Sandbox template its sessions use; default: the built-in one."
    )
    allow_installs: bool = Field(
        False, description="The model may ask the server to install packages (install_package)."
    )
    allowed_packages: list[PackageEntry] = Field(
        default_factory=list,
        max_length=200,
        description="Packages it may install without an admin's approval (e.g. faker, "
        "'regex>=2024', *).",
    )
    connections: list[Identifier] | None = Field(
        None,
        max_length=100,
        description="Ids of the database connections it may query (list_tables, "
        "describe_table, query_database); [] none; null: every connection of the "
        "conversation's owner.",
    )
    mcp_tools: list[McpToolEntry] = Field(
        default_factory=list,
        max_length=200,
        description="Tools of registered MCP servers it may call, as server/tool or "
        "server/* (every tool of the server); [] none.",
    )
    egress: list[EgressEntry] | None = Field(
        None,
        max_length=100,
        description="Set by admins: host:port entries that narrow its sandboxes' network "
        "access below the template's (sandbox.egress.allow); a connection must pass both. "
        "[] no network; null: the template's as it is.",
    )
    env_vars: dict[EnvName, EnvValue] = Field(
        default_factory=dict,
        max_length=64,
        description="Environment variables its sandboxes get (e.g. a service's base URL); "
        "anyone who can see the assistant sees them.",
    )


class AssistantCreate(AssistantFields):
    name: Name
    secret_env_vars: dict[EnvName, EnvValue] = Field(
        default_factory=dict,
        max_length=64,
        description="Write-only environment variables for its sandboxes (e.g. an API key "
        "for a host its egress allows): encrypted at rest, never shown back (only their "
        "names), and given only to its owner's own conversations.",
    )


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
    template: TemplateName | None = None
    allow_installs: bool | None = None
    allowed_packages: list[PackageEntry] | None = Field(None, max_length=200)
    connections: list[Identifier] | None = Field(None, max_length=100)
    mcp_tools: list[McpToolEntry] | None = Field(None, max_length=200)
    egress: list[EgressEntry] | None = Field(None, max_length=100)
    env_vars: dict[EnvName, EnvValue] | None = Field(None, max_length=64)
    secret_env_vars: dict[EnvName, EnvValue | None] | None = Field(
        None,
        max_length=64,
        description="Merged into the stored ones: a value sets that variable, null removes it.",
    )


# Fields that cannot be empty: `null` in an update leaves them as they are.
_REQUIRED = {
    "name",
    "description",
    "instructions",
    "tools",
    "libraries",
    "visibility",
    "mode",
    "allow_installs",
    "allowed_packages",
    "mcp_tools",
}


class TemplateNames(Protocol):
    """Which templates exist (the sandbox layer's catalog)."""

    def names(self) -> list[str]: ...


class UsableConnections(Protocol):
    """Checks that a person may use these database connections (the connection service)."""

    async def check_usable(self, principal: Principal, ids: list[str]) -> None: ...


class AllowableMcpTools(Protocol):
    """Checks that an assistant's `mcp_tools` name registered servers' tools (the MCP
    server service)."""

    async def check_allowed(self, principal: Principal, entries: list[str]) -> None: ...


class AssistantService:
    def __init__(
        self,
        db: Database,
        templates: TemplateNames | None = None,
        connections: UsableConnections | None = None,
        *,
        cipher: SecretCipher,
        mcp_tools: AllowableMcpTools | None = None,
    ) -> None:
        """`templates`: checked when an assistant names one (without it, any name is taken
        and an unknown one fails when a session is made); `connections`: checks the
        connections an assistant names are its owner's to use; `cipher` encrypts its secret
        environment variables; `mcp_tools`: checks the MCP tools an assistant names exist."""
        self._mcp_tools = mcp_tools
        self._db = db
        self._templates = templates
        self._connections = connections
        self._cipher = cipher

    def _check_template(self, name: str | None) -> None:
        if name is None or self._templates is None:
            return
        known = self._templates.names()
        if name not in known:
            raise ValidationError(
                f"no sandbox template named {name!r} (known: {', '.join(known)}); an admin adds "
                "one as a file in the templates directory and builds it with "
                "`analyst templates build`",
                field="template",
            )

    async def _check_connections(self, principal: Principal, ids: list[str] | None) -> None:
        if ids and self._connections is not None:
            await self._connections.check_usable(principal, ids)

    async def _check_mcp_tools(self, principal: Principal, entries: list[str] | None) -> None:
        if entries and self._mcp_tools is not None:
            await self._mcp_tools.check_allowed(principal, entries)

    async def create(self, principal: Principal, spec: AssistantCreate) -> Assistant:
        if spec.egress is not None:
            _check_may_set_egress(principal)
        self._check_template(spec.template)
        await self._check_connections(principal, spec.connections)
        await self._check_mcp_tools(principal, spec.mcp_tools)
        values = spec.model_dump()
        secrets = values.pop("secret_env_vars")
        _check_env_names(spec.env_vars, secrets)
        values["secret_env_vars"] = {name: self._cipher.encrypt(v) for name, v in secrets.items()}
        assistant = Assistant(owner_id=principal.user_id, **values)
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
        if "egress" in values:
            _check_may_set_egress(principal)
        self._check_template(values.get("template"))
        await self._check_connections(principal, values.get("connections"))
        await self._check_mcp_tools(principal, values.get("mcp_tools"))
        async with _unique_name(values.get("name", "")), self._db.session() as session:
            assistant = access.ensure_can_modify_assistant(
                principal, await self._load(session, assistant_id)
            )
            if "secret_env_vars" in values:
                values["secret_env_vars"] = self._merged_secrets(
                    assistant.secret_env_vars or {}, values["secret_env_vars"] or {}
                )
            _check_env_names(
                values.get("env_vars", assistant.env_vars) or {},
                values.get("secret_env_vars", assistant.secret_env_vars) or {},
            )
            for key, value in values.items():
                setattr(assistant, key, value)
        return assistant

    def _merged_secrets(
        self, stored: dict[str, str], changes: dict[str, str | None]
    ) -> dict[str, str]:
        merged = dict(stored)  # a new dict: the JSON column sees the change
        for name, value in changes.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = self._cipher.encrypt(value)
        return merged

    def session_spec(self, assistant: Assistant | None, conversation_owner_id: str) -> SessionSpec:
        """What a session of `assistant` (None: no assistant, the defaults) is made of in a
        conversation of `conversation_owner_id`: its template, its narrowing of the egress
        and its environment. `AssistantSecretUnreadable` when a secret cannot be decrypted."""
        if assistant is None:
            return SessionSpec()
        return SessionSpec(
            template=assistant.template,
            env_vars=self._session_env(assistant, conversation_owner_id),
            egress=None if assistant.egress is None else tuple(assistant.egress),
        )

    def _session_env(self, assistant: Assistant, conversation_owner_id: str) -> dict[str, str]:
        """The plain variables, and the secret ones only when the conversation is the
        assistant's owner's (whoever uses a public assistant could otherwise print its
        owner's keys)."""
        env = dict(assistant.env_vars or {})
        if conversation_owner_id != assistant.owner_id:
            return env
        for name, token in (assistant.secret_env_vars or {}).items():
            try:
                env[name] = self._cipher.decrypt(token)
            except UndecryptableSecret as exc:
                raise AssistantSecretUnreadable(
                    f"the assistant's secret environment variable {name} cannot be decrypted: "
                    f"{exc}; set it again (PATCH secret_env_vars)",
                    field="secret_env_vars",
                ) from None
        return env

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

    async def using_template(self, template: str) -> list[str]:
        """Names of every assistant (anyone's) whose sessions use `template`: an admin's
        question before removing it."""
        statement = select(Assistant.name).where(Assistant.template == template)
        async with self._db.session() as session:
            return sorted(await session.scalars(statement.order_by(Assistant.name)))

    @staticmethod
    async def _load(session: AsyncSession, assistant_id: str) -> Assistant | None:
        return await session.get(Assistant, assistant_id) if looks_like_id(assistant_id) else None


class AssistantSecretUnreadable(ServiceError):
    code = "assistant_secret_unreadable"
    http_status = 409


def _check_env_names(plain: dict[str, str], secret: dict[str, object]) -> None:
    both = sorted(set(plain) & set(secret))
    if both:
        raise ValidationError(
            f"{', '.join(both)}: a variable is either plain (env_vars) or secret "
            "(secret_env_vars), not both",
            field="secret_env_vars",
        )


def _check_may_set_egress(principal: Principal) -> None:
    # An owner could otherwise undo the narrowing an admin gave their assistant.
    if not principal.is_admin:
        raise Forbidden("only an admin may set an assistant's network access", field="egress")


@asynccontextmanager
async def _unique_name(name: str) -> AsyncIterator[None]:
    """Turns the unique (owner, name) violation into a Conflict that names the field."""
    try:
        yield
    except IntegrityError:
        raise Conflict(f"you already have an assistant named {name!r}", field="name") from None
