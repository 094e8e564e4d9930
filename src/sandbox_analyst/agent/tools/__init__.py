"""The tools the model may call: a registry of name -> spec + handler, the built-in tools, and
the `Toolbox` that runs one turn's calls. A new tool is a `Tool` registered in a registry; a
team role gets `registry.subset([...names])`; a task's coding agent gets `coding_tools()`."""

from sandbox_analyst.agent.tools.builtin import analyst_tools, builtin_tools
from sandbox_analyst.agent.tools.charts import CHART_TYPES, GENERATE_CHART
from sandbox_analyst.agent.tools.coding import (
    BASH,
    EDIT_FILE,
    GLOB,
    GREP,
    Approval,
    CommandApprover,
    coding_tools,
)
from sandbox_analyst.agent.tools.context import (
    CallOutput,
    InvalidArguments,
    ToolContext,
    ToolOutcome,
    TurnState,
)
from sandbox_analyst.agent.tools.database import (
    DATABASE_TOOLS,
    QUERY_DATABASE,
    database_tools,
    with_databases,
)
from sandbox_analyst.agent.tools.database_access import (
    Column,
    ConnectionInfo,
    DatabaseAccess,
    DatabaseToolError,
    ForeignKey,
    QueryRows,
    TableDescription,
    TableName,
)
from sandbox_analyst.agent.tools.execute_code import EXECUTE_CODE, normalise_code
from sandbox_analyst.agent.tools.files import LIST_FILES, PREVIEW_FILE
from sandbox_analyst.agent.tools.install_package import install_package_tool, with_installs
from sandbox_analyst.agent.tools.mcp import (
    MCP_TOOL_PREFIX,
    mcp_tools,
    offered_name,
    with_mcp_tools,
)
from sandbox_analyst.agent.tools.mcp_access import (
    McpCallResult,
    McpImage,
    McpToolAccess,
    McpToolError,
    McpToolInfo,
)
from sandbox_analyst.agent.tools.registry import Tool, ToolHandler, ToolRegistry
from sandbox_analyst.agent.tools.toolbox import Toolbox
from sandbox_analyst.agent.tools.workdir_files import READ_FILE, WRITE_FILE

__all__ = [
    "BASH",
    "CHART_TYPES",
    "DATABASE_TOOLS",
    "EDIT_FILE",
    "EXECUTE_CODE",
    "GENERATE_CHART",
    "GLOB",
    "GREP",
    "LIST_FILES",
    "MCP_TOOL_PREFIX",
    "PREVIEW_FILE",
    "QUERY_DATABASE",
    "READ_FILE",
    "WRITE_FILE",
    "Approval",
    "CallOutput",
    "Column",
    "CommandApprover",
    "ConnectionInfo",
    "DatabaseAccess",
    "DatabaseToolError",
    "ForeignKey",
    "InvalidArguments",
    "McpCallResult",
    "McpImage",
    "McpToolAccess",
    "McpToolError",
    "McpToolInfo",
    "QueryRows",
    "TableDescription",
    "TableName",
    "Tool",
    "ToolContext",
    "ToolHandler",
    "ToolOutcome",
    "ToolRegistry",
    "Toolbox",
    "TurnState",
    "analyst_tools",
    "builtin_tools",
    "coding_tools",
    "database_tools",
    "install_package_tool",
    "mcp_tools",
    "normalise_code",
    "offered_name",
    "with_databases",
    "with_installs",
    "with_mcp_tools",
]
