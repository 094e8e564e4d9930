"""What an admin gives to register an MCP server (`McpServerCreate`), and the allow-list
entries an assistant names its MCP tools with (`server/tool`, `server/*`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from sandbox_analyst.service.text import Description

McpServerName = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$",
        description="Letters, digits, _ and -; what its tools are named after (e.g. search).",
    ),
]
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")  # an HTTP token
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_MAX_SECRETS = 64


class McpServerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: McpServerName
    description: Description = Field("", description="What its tools are for.")
    command: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="stdio: the program to run on the server host (found on PATH).",
    )
    args: list[Annotated[str, Field(max_length=4096)]] = Field(
        default_factory=list, max_length=256, description="stdio: its arguments."
    )
    env: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="stdio: environment variables it gets (besides a safe minimum such as "
        "PATH and HOME); stored encrypted, never shown again.",
    )
    url: str | None = Field(
        None, max_length=4096, description="Streamable HTTP: the endpoint, e.g. https://host/mcp."
    )
    headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="HTTP: headers sent with every request (e.g. Authorization); stored "
        "encrypted, never shown again.",
    )
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value == "calls":  # /api/admin/mcp-servers/calls is the call log
            raise ValueError("'calls' is reserved; choose another name")
        return value

    @field_validator("env")
    @classmethod
    def _env_names(cls, values: dict[str, SecretStr]) -> dict[str, SecretStr]:
        _check_names(values, _ENV_NAME, "environment variable")
        return values

    @field_validator("headers")
    @classmethod
    def _header_names(cls, values: dict[str, SecretStr]) -> dict[str, SecretStr]:
        _check_names(values, _HEADER_NAME, "header")
        for name, value in values.items():
            if any(ch in value.get_secret_value() for ch in "\r\n\x00"):
                raise ValueError(f"the value of header {name!r} holds a line break or NUL")
        return values

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an http:// or https:// address, e.g. https://host/mcp")
        if parts.username or parts.password:
            raise ValueError("put credentials in a header (e.g. Authorization), not in the url")
        return value

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerCreate:
        if (self.command is None) == (self.url is None):
            raise ValueError("give either command (a stdio server) or url (an HTTP server)")
        if self.url is not None and (self.args or self.env):
            raise ValueError("args and env are for a stdio server (command), not an HTTP one")
        if self.command is not None and self.headers:
            raise ValueError("headers are for an HTTP server (url), not a stdio one")
        return self

    @property
    def transport(self) -> str:
        return "stdio" if self.command is not None else "http"


def _check_names(values: dict[str, SecretStr], pattern: re.Pattern[str], kind: str) -> None:
    if len(values) > _MAX_SECRETS:
        raise ValueError(f"at most {_MAX_SECRETS} of them")
    for name in values:
        if not pattern.match(name):
            raise ValueError(f"{name!r} is not a valid {kind} name")


_ENTRY = re.compile(r"^([A-Za-z][A-Za-z0-9_-]{0,63})/([^/\s]{1,200})$")


@dataclass(frozen=True)
class ToolPattern:
    """One entry of an assistant's `mcp_tools`: a server's tool, or all of them (`*`)."""

    server: str
    tool: str  # "*": every tool of the server

    @classmethod
    def parse(cls, entry: str) -> ToolPattern:
        """ValueError (which pydantic reports as a 422 on the field) unless `entry` is
        `server/tool` or `server/*`."""
        found = _ENTRY.match(entry.strip())
        if found is None:
            raise ValueError(f"{entry!r} is not server/tool or server/* (e.g. search/web_search)")
        return cls(found.group(1), found.group(2))

    def matches(self, server: str, tool: str) -> bool:
        return self.server == server and self.tool in ("*", tool)

    def __str__(self) -> str:
        return f"{self.server}/{self.tool}"
