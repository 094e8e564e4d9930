"""How to reach a registered MCP server and what it lists: plain values, apart from
`connection.py` (the one module that imports the `mcp` SDK, which takes a second to import and
is needed only once a server is actually asked something)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Endpoint:
    """How to reach one server, its secrets decrypted (never logged, never shown)."""

    name: str
    transport: str  # stdio, http
    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def scrubbed(self, text: str) -> str:
        """`text` with every secret value masked, should an error ever quote one."""
        for value in (*self.env.values(), *self.headers.values()):
            if len(value) >= 4:
                text = text.replace(value, "***")
        return text


@dataclass(frozen=True)
class Limits:
    connect_timeout_s: float = 15.0
    call_timeout_s: float = 60.0
    max_result_chars: int = 20_000
    max_image_bytes: int = 10 * 1024 * 1024


@dataclass(frozen=True)
class ListedTool:
    name: str
    description: str
    input_schema: dict[str, Any]
