"""`TurnMcpTools`: the `McpToolAccess` of one turn: the MCP tools its assistant may call, by
the names the model knows them under, each call run under the call timeout and recorded in
the call log (`McpToolCall`) whatever becomes of it. A name the turn was not offered (a model
that makes one up, or names a tool its assistant was not allowed) is refused here too, not
only by the toolbox."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from sandbox_analyst.agent.tools import McpCallResult, McpToolError, McpToolInfo, offered_name
from sandbox_analyst.service.mcp_servers.endpoints import ListedTool
from sandbox_analyst.store import McpServer, McpToolCall

if TYPE_CHECKING:
    from sandbox_analyst.service.mcp_servers.service import McpServerService

_LOGGED_ARGUMENT_CHARS = 2000
_OUTCOMES = {"McpTimeout": "timeout", "McpServerUnavailable": "unreachable"}


class TurnMcpTools:
    def __init__(
        self,
        service: McpServerService,
        owner_id: str,
        assistant_id: str | None,
        conversation_id: str | None,
        offered: list[tuple[McpServer, ListedTool]],
    ) -> None:
        self._service = service
        self._owner_id = owner_id
        self._assistant_id = assistant_id
        self._conversation_id = conversation_id
        self._by_name: dict[str, tuple[McpServer, McpToolInfo]] = {}
        for record, tool in offered:
            name = offered_name(record.name, tool.name)
            if name in self._by_name:  # two tools sanitised to one name: the first is kept
                continue
            info = McpToolInfo(name, record.name, tool.name, tool.description, tool.input_schema)
            self._by_name[name] = (record, info)

    def tools(self) -> list[McpToolInfo]:
        return [info for _, info in self._by_name.values()]

    async def call(self, offered_as: str, arguments: dict[str, Any]) -> McpCallResult:
        found = self._by_name.get(offered_as)
        if found is None:
            raise McpToolError(
                "McpToolRefused", f"{offered_as!r} is not an MCP tool this assistant may call"
            )
        record, info = found
        connection = self._service.connection(record)
        argument_text = json.dumps(arguments, ensure_ascii=False, default=str)
        entry = McpToolCall(
            server_id=record.id,
            server_name=record.name,
            tool=info.tool,
            assistant_id=self._assistant_id,
            owner_id=self._owner_id,
            conversation_id=self._conversation_id,
            arguments=connection.endpoint.scrubbed(argument_text)[:_LOGGED_ARGUMENT_CHARS],
            argument_bytes=len(argument_text.encode()),
        )
        started = time.monotonic()
        try:
            result = await connection.call(info.tool, arguments)
        except McpToolError as exc:
            entry.outcome = _OUTCOMES.get(exc.name, "error")
            entry.error = f"{exc.name}: {exc.message}"
            entry.duration_s = time.monotonic() - started
            await self._service.record_call(entry)
            raise
        entry.duration_s = time.monotonic() - started
        entry.outcome = "error" if result.is_error else "ok"
        entry.error = result.text[:_LOGGED_ARGUMENT_CHARS] if result.is_error else None
        entry.result_bytes = len(result.text.encode()) + sum(len(i.data) for i in result.images)
        await self._service.record_call(entry)
        return result
