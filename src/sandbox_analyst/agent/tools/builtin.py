"""The analyst's own tools: run Python, list the workdir, preview a data file; and, for roles
that need them (team mode), read and write text files and draw a chart of a data file."""

from __future__ import annotations

from sandbox_analyst.agent.tools.charts import GENERATE_CHART_TOOL
from sandbox_analyst.agent.tools.execute_code import EXECUTE_CODE_TOOL
from sandbox_analyst.agent.tools.files import LIST_FILES_TOOL, PREVIEW_FILE_TOOL
from sandbox_analyst.agent.tools.registry import ToolRegistry
from sandbox_analyst.agent.tools.workdir_files import READ_FILE_TOOL, WRITE_FILE_TOOL


def builtin_tools() -> ToolRegistry:
    """A new registry holding `execute_code`, `list_files` and `preview_file`."""
    return ToolRegistry([EXECUTE_CODE_TOOL, LIST_FILES_TOOL, PREVIEW_FILE_TOOL])


def analyst_tools() -> ToolRegistry:
    """`builtin_tools()` plus `read_file`, `write_file` and `generate_chart`."""
    tools = builtin_tools()
    for tool in (READ_FILE_TOOL, WRITE_FILE_TOOL, GENERATE_CHART_TOOL):
        tools.register(tool)
    return tools
