"""The analyst's own tools: run Python, list the workdir, preview a data file; and, for roles
that need them (team mode), read and write text files and draw a chart of a data file."""

from __future__ import annotations

from collections.abc import Sequence

from sandbox_analyst.agent.tools.charts import GENERATE_CHART_TOOL
from sandbox_analyst.agent.tools.execute_code import execute_code_tool
from sandbox_analyst.agent.tools.files import LIST_FILES_TOOL, PREVIEW_FILE_TOOL
from sandbox_analyst.agent.tools.registry import ToolRegistry
from sandbox_analyst.agent.tools.workdir_files import READ_FILE_TOOL, WRITE_FILE_TOOL
from sandbox_analyst.sandbox import PYTHON_LANGUAGES


def builtin_tools(languages: Sequence[str] = PYTHON_LANGUAGES) -> ToolRegistry:
    """A new registry holding `execute_code` (offering `languages`: the session's
    `Sandbox.languages`), `list_files` and `preview_file`."""
    return ToolRegistry([execute_code_tool(languages), LIST_FILES_TOOL, PREVIEW_FILE_TOOL])


def analyst_tools(languages: Sequence[str] = PYTHON_LANGUAGES) -> ToolRegistry:
    """`builtin_tools(languages)` plus `read_file`, `write_file` and `generate_chart`."""
    tools = builtin_tools(languages)
    for tool in (READ_FILE_TOOL, WRITE_FILE_TOOL, GENERATE_CHART_TOOL):
        tools.register(tool)
    return tools
