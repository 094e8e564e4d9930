"""MCP servers an admin registered, whose tools the agent calls as a client: their registry
with encrypted headers and env values (`service.py`), what registering one takes and how an
assistant names the tools it may call (`specs.py`), one SDK session per operation
(`connection.py`) and a turn's access to its allowed tools, every call logged (`turn.py`)."""

from sandbox_analyst.service.mcp_servers.connection import (
    Endpoint,
    Limits,
    ListedTool,
    McpConnection,
)
from sandbox_analyst.service.mcp_servers.service import (
    CatalogEntry,
    McpServerCheck,
    McpServerService,
)
from sandbox_analyst.service.mcp_servers.specs import McpServerCreate, McpServerName, ToolPattern
from sandbox_analyst.service.mcp_servers.turn import TurnMcpTools

__all__ = [
    "CatalogEntry",
    "Endpoint",
    "Limits",
    "ListedTool",
    "McpConnection",
    "McpServerCheck",
    "McpServerCreate",
    "McpServerName",
    "McpServerService",
    "ToolPattern",
    "TurnMcpTools",
]
