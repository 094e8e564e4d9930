"""`McpServerService`: the MCP servers an admin registered, whose tools assistants may be
allowed to call. Header and env values are encrypted (`SecretCipher`) and never shown again;
only their names are. Tool listings are kept for `mcp_client.tool_list_ttl_s` (an assistant
editor's picker, the check of an assistant's `mcp_tools` and each turn all need them; a stdio
server would otherwise be started for each). `for_turn` gives a chat turn the tools its
assistant may call (`TurnMcpTools`), every call recorded in the call log (`McpToolCall`)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sandbox_analyst.agent.tools import McpToolError
from sandbox_analyst.config import Settings
from sandbox_analyst.service import access
from sandbox_analyst.service.errors import Conflict, NotFound, ValidationError
from sandbox_analyst.service.mcp_servers.endpoints import Endpoint, Limits, ListedTool
from sandbox_analyst.service.mcp_servers.specs import McpServerCreate, ToolPattern
from sandbox_analyst.service.mcp_servers.turn import TurnMcpTools
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.secret_cipher import SecretCipher, UndecryptableSecret
from sandbox_analyst.store import Database, McpServer, McpToolCall, looks_like_id

if TYPE_CHECKING:
    from sandbox_analyst.service.mcp_servers.connection import McpConnection

logger = logging.getLogger(__name__)

_FAILURE_TTL_S = 30.0  # how long a server that could not be listed is not asked again


@dataclass(frozen=True)
class McpServerCheck:
    ok: bool
    detail: str  # how many tools it offers, or why it cannot be used
    tools: list[ListedTool]
    seconds: float


@dataclass(frozen=True)
class CatalogEntry:
    server: str
    description: str
    tools: list[ListedTool]
    error: str | None = None  # why its tools cannot be listed now


class McpServerService:
    def __init__(self, db: Database, settings: Settings, cipher: SecretCipher) -> None:
        self._db = db
        self._cipher = cipher
        options = settings.mcp_client
        self.limits = Limits(
            connect_timeout_s=options.connect_timeout_s,
            call_timeout_s=options.call_timeout_s,
            max_result_chars=options.max_result_chars,
            max_image_bytes=options.max_image_bytes,
        )
        self._ttl_s = options.tool_list_ttl_s
        # server id -> (its updated_at, when listed, the tools or why not): a changed server is
        # listed anew.
        self._listings: dict[str, tuple[object, float, list[ListedTool] | McpToolError]] = {}

    # -- the registry -----------------------------------------------------------------------

    async def create(self, principal: Principal, spec: McpServerCreate) -> McpServer:
        """Register a server (admins only); Conflict when the name is taken."""
        access.ensure_can_manage_mcp_servers(principal)
        record = McpServer(
            name=spec.name,
            description=spec.description,
            transport=spec.transport,
            command=spec.command,
            args=list(spec.args),
            url=spec.url,
            env_encrypted=self._encrypted(spec.env),
            headers_encrypted=self._encrypted(spec.headers),
            enabled=spec.enabled,
            created_by=principal.user_id,
        )
        try:
            async with self._db.session() as session:
                session.add(record)
        except IntegrityError:
            raise Conflict(
                f"there is already an MCP server named {spec.name!r}", field="name"
            ) from None
        logger.info("MCP server %s registered (%s, %s)", spec.name, spec.transport, record.id)
        return record

    async def list(self, principal: Principal) -> list[McpServer]:
        """Every registered server, as its admins see it (admins only)."""
        access.ensure_can_manage_mcp_servers(principal)
        return await self._all()

    async def get(self, principal: Principal, ref: str) -> McpServer:
        """A server by name or id (admins only)."""
        access.ensure_can_manage_mcp_servers(principal)
        return await self._find(ref)

    async def catalog(self, principal: Principal) -> list[CatalogEntry]:
        """What an assistant's owner may pick from (anyone signed in): each enabled server's
        name, description and tools, or why its tools cannot be listed now. Nothing of how it
        is reached (command, URL, header or env names) is shown."""
        del principal  # every user may allow a registered server's tools in their assistant
        enabled = [record for record in await self._all() if record.enabled]
        listings = await self._listed_all(enabled)
        return [
            CatalogEntry(record.name, record.description, [], listed.message)
            if isinstance(listed, McpToolError)
            else CatalogEntry(record.name, record.description, listed)
            for record, listed in zip(enabled, listings, strict=True)
        ]

    async def set_enabled(self, principal: Principal, ref: str, enabled: bool) -> McpServer:
        """Enable or disable a server (admins only): a disabled one's tools are offered to
        no turn, and no assistant may newly name them."""
        record = await self.get(principal, ref)
        async with self._db.session() as session:
            found = await session.get(McpServer, record.id)
            if found is None:
                raise NotFound(f"no MCP server {ref!r}")
            found.enabled = enabled
        self._listings.pop(record.id, None)
        return found

    async def delete(self, principal: Principal, ref: str) -> McpServer:
        record = await self.get(principal, ref)
        async with self._db.session() as session:
            found = await session.get(McpServer, record.id)
            if found is not None:
                await session.delete(found)
        self._listings.pop(record.id, None)
        logger.info("MCP server %s removed (%s)", record.name, record.id)
        return record

    # -- its tools --------------------------------------------------------------------------

    async def test(self, principal: Principal, ref: str) -> McpServerCheck:
        """Connect, list its tools (afresh) and say how that went (admins only)."""
        record = await self.get(principal, ref)
        started = time.monotonic()
        try:
            tools = await self._listed(record, fresh=True)
        except McpToolError as exc:
            return McpServerCheck(False, exc.message, [], time.monotonic() - started)
        count = f"{len(tools)} tool{'s' if len(tools) != 1 else ''}"
        return McpServerCheck(True, count, tools, time.monotonic() - started)

    async def tools(self, principal: Principal, ref: str) -> list[ListedTool]:
        """The tools `ref` offers (admins only); `ValidationError` (422) naming why when it
        cannot say."""
        record = await self.get(principal, ref)
        try:
            return await self._listed(record)
        except McpToolError as exc:
            raise ValidationError(
                f"cannot list the tools of {record.name!r}: {exc.message}"
            ) from None

    async def check_allowed(self, principal: Principal, entries: list[str]) -> None:
        """ValidationError (naming the entry) unless every `server/tool` or `server/*` of an
        assistant's `mcp_tools` names a registered, enabled server and one of its tools.
        Allowing is open to the assistant's owner: what may run was decided by the admin who
        registered the server."""
        del principal  # allowing is open to every assistant's owner
        servers = {record.name: record for record in await self._all()}
        for entry in entries:
            try:
                pattern = ToolPattern.parse(entry)
            except ValueError as exc:
                raise ValidationError(str(exc), field="mcp_tools") from None
            record = servers.get(pattern.server)
            if record is None:
                raise ValidationError(f"no MCP server {pattern.server!r}", field="mcp_tools")
            if not record.enabled:
                raise ValidationError(
                    f"the MCP server {pattern.server!r} is disabled", field="mcp_tools"
                )
            if pattern.tool == "*":
                continue
            try:
                names = [tool.name for tool in await self._listed(record)]
            except McpToolError as exc:
                raise ValidationError(
                    f"cannot check {entry!r}: {exc.message}", field="mcp_tools"
                ) from None
            if pattern.tool not in names:
                raise ValidationError(
                    f"the MCP server {pattern.server!r} has no tool {pattern.tool!r} "
                    f"(it has: {', '.join(names) or 'none'})",
                    field="mcp_tools",
                )

    async def for_turn(
        self,
        owner_id: str,
        assistant_id: str | None,
        conversation_id: str | None,
        entries: list[str],
    ) -> TurnMcpTools:
        """The MCP tools a turn may call: those of `entries` (an assistant's `mcp_tools`)
        that an enabled server still offers. A server that cannot be reached now is left out
        (logged), and the turn goes on with the others."""
        patterns = []
        for entry in entries:
            try:
                patterns.append(ToolPattern.parse(entry))
            except ValueError:
                logger.warning("assistant %s: ignoring MCP tool entry %r", assistant_id, entry)
        wanted = {pattern.server for pattern in patterns}
        offered: list[tuple[McpServer, ListedTool]] = []
        if wanted:
            async with self._db.session() as session:
                records = list(
                    await session.scalars(
                        select(McpServer)
                        .where(McpServer.name.in_(wanted), McpServer.enabled.is_(True))
                        .order_by(McpServer.name)
                    )
                )
            for record, listed in zip(records, await self._listed_all(records), strict=True):
                if isinstance(listed, McpToolError):
                    logger.warning(
                        "MCP server %s left out of a turn: %s", record.name, listed.message
                    )
                    continue
                offered += [
                    (record, tool)
                    for tool in listed
                    if any(p.matches(record.name, tool.name) for p in patterns)
                ]
        return TurnMcpTools(self, owner_id, assistant_id, conversation_id, offered)

    # -- calls ------------------------------------------------------------------------------

    def connection(self, record: McpServer) -> McpConnection:
        """A connection to `record`, its secrets decrypted (`McpToolError` if they cannot be)."""
        try:
            env = self._decrypted(record.env_encrypted)
            headers = self._decrypted(record.headers_encrypted)
        except UndecryptableSecret as exc:
            raise McpToolError(
                "McpServerUnavailable",
                f"the secrets of the MCP server {record.name!r} cannot be decrypted: {exc}; "
                "remove it and register it again",
            ) from None
        # Imported here: the SDK is a second of every server start, and most never call a tool.
        from sandbox_analyst.service.mcp_servers.connection import McpConnection

        endpoint = Endpoint(
            record.name,
            record.transport,
            command=record.command,
            args=list(record.args or []),
            env=env,
            url=record.url,
            headers=headers,
        )
        return McpConnection(endpoint, self.limits)

    async def record_call(self, entry: McpToolCall) -> None:
        """Append to the call log; a call that cannot be recorded is not answered."""
        try:
            async with self._db.session() as session:
                session.add(entry)
        except Exception as exc:
            logger.exception("could not write the log of an MCP tool call")
            raise McpToolError(
                "CallLogUnavailable",
                "the call could not be recorded in the call log, so its result is withheld",
            ) from exc

    async def calls(
        self, principal: Principal, *, ref: str | None = None, limit: int = 50
    ) -> list[McpToolCall]:
        """The call log, newest first: a user's own calls, or everyone's for an admin."""
        statement = select(McpToolCall)
        if not principal.is_admin:
            statement = statement.where(McpToolCall.owner_id == principal.user_id)
        if ref is not None:
            record = await self._find(ref)
            statement = statement.where(McpToolCall.server_id == record.id)
        statement = statement.order_by(McpToolCall.started_at.desc()).limit(limit)
        async with self._db.session() as session:
            return list(await session.scalars(statement))

    # -- helpers ----------------------------------------------------------------------------

    async def _all(self) -> list[McpServer]:
        async with self._db.session() as session:
            return list(await session.scalars(select(McpServer).order_by(McpServer.name)))

    async def _find(self, ref: str) -> McpServer:
        async with self._db.session() as session:
            found = await session.scalar(select(McpServer).where(McpServer.name == ref))
            if found is None and looks_like_id(ref):
                found = await session.get(McpServer, ref)
        if found is None:
            raise NotFound(f"no MCP server {ref!r}")
        return found

    async def _listed(self, record: McpServer, *, fresh: bool = False) -> list[ListedTool]:
        """Its tools, from the kept listing while it is fresh. A failure is kept too, for a
        shorter while: a server that is down must not hold up every turn and every editor's
        picker for its connect timeout."""
        kept = self._listings.get(record.id)
        now = time.monotonic()
        if not fresh and kept is not None and kept[0] == record.updated_at:
            ttl = (
                min(self._ttl_s, _FAILURE_TTL_S)
                if isinstance(kept[2], McpToolError)
                else self._ttl_s
            )
            if now - kept[1] < ttl:
                if isinstance(kept[2], McpToolError):
                    raise McpToolError(kept[2].name, kept[2].message)
                return kept[2]
        try:
            tools = await self.connection(record).list_tools()
        except McpToolError as exc:
            self._listings[record.id] = (record.updated_at, now, exc)
            raise
        self._listings[record.id] = (record.updated_at, now, tools)
        return tools

    async def _listed_all(self, records: list[McpServer]) -> list[list[ListedTool] | McpToolError]:
        """The tools of each of `records` (or why not), listed at once."""

        async def one(record: McpServer) -> list[ListedTool] | McpToolError:
            try:
                return await self._listed(record)
            except McpToolError as exc:
                return exc

        return list(await asyncio.gather(*(one(record) for record in records)))

    def _encrypted(self, values: dict) -> dict[str, str]:
        return {
            name: self._cipher.encrypt(value.get_secret_value()) for name, value in values.items()
        }

    def _decrypted(self, values: dict[str, str] | None) -> dict[str, str]:
        return {name: self._cipher.decrypt(token) for name, token in (values or {}).items()}
