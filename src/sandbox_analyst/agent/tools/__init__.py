"""The tools the model may call: a registry of name -> spec + handler, the built-in tools, and
the `Toolbox` that runs one turn's calls. A new tool is a `Tool` registered in a registry; a
team role gets `registry.subset([...names])`."""

from sandbox_analyst.agent.tools.builtin import builtin_tools
from sandbox_analyst.agent.tools.context import (
    CallOutput,
    InvalidArguments,
    ToolContext,
    ToolOutcome,
    TurnState,
)
from sandbox_analyst.agent.tools.execute_code import EXECUTE_CODE, normalise_code
from sandbox_analyst.agent.tools.files import LIST_FILES, PREVIEW_FILE
from sandbox_analyst.agent.tools.install_package import install_package_tool, with_installs
from sandbox_analyst.agent.tools.registry import Tool, ToolHandler, ToolRegistry
from sandbox_analyst.agent.tools.toolbox import Toolbox

__all__ = [
    "EXECUTE_CODE",
    "LIST_FILES",
    "PREVIEW_FILE",
    "CallOutput",
    "InvalidArguments",
    "Tool",
    "ToolContext",
    "ToolHandler",
    "ToolOutcome",
    "ToolRegistry",
    "Toolbox",
    "TurnState",
    "builtin_tools",
    "install_package_tool",
    "normalise_code",
    "with_installs",
]
