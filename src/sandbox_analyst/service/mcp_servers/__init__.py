"""MCP servers an admin registered, whose tools the agent calls as a client: their registry
with encrypted headers and env values (`service.py`), what registering one takes and how an
assistant names the tools it may call (`specs.py`), how to reach one (`endpoints.py`), one SDK
session per operation (`connection.py`, imported only when a server is asked something) and a
turn's access to its allowed tools, every call logged (`turn.py`)."""

from sandbox_analyst.service.mcp_servers.endpoints import Endpoint, Limits, ListedTool
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
    "McpServerCheck",
    "McpServerCreate",
    "McpServerName",
    "McpServerService",
    "ToolPattern",
    "TurnMcpTools",
]
