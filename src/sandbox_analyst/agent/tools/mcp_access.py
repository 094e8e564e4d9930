"""What the MCP tools need from the server: `McpToolAccess`, the tools of admin-registered MCP
servers one turn may call, and the values it answers with. The service implements it (the
servers, their credentials, the timeouts, the call log); the agent only ever sees a tool's
name, description and input schema, and what a call returned. The sandbox never talks to an
MCP server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class McpToolError(Exception):
    """A call that failed in a way the model should be told about: `name` is what it sees as
    the error's name (McpTimeout, McpServerUnavailable, McpToolRefused, ...), the message says
    what happened."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass(frozen=True)
class McpToolInfo:
    offered_as: str  # the name the model calls it by: mcp__<server>__<tool>, sanitised
    server: str
    tool: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class McpImage:
    data: bytes
    media_type: str  # image/png, image/jpeg, ...


@dataclass(frozen=True)
class McpCallResult:
    """What a tool answered: its text parts joined, its images, and whether the server
    flagged the result as an error (`isError`); `omitted` names parts the model cannot use
    (audio, resources), so it is told they were there."""

    text: str
    images: list[McpImage] = field(default_factory=list)
    is_error: bool = False
    omitted: list[str] = field(default_factory=list)


class McpToolAccess(Protocol):
    """The MCP tools one turn may call (the service's, bound to the turn's conversation)."""

    def tools(self) -> list[McpToolInfo]: ...

    async def call(self, offered_as: str, arguments: dict[str, Any]) -> McpCallResult: ...
