"""The analyst's own tools: run Python, list the workdir, preview a data file."""

from __future__ import annotations

from sandbox_analyst.agent.tools.execute_code import EXECUTE_CODE_TOOL
from sandbox_analyst.agent.tools.files import LIST_FILES_TOOL, PREVIEW_FILE_TOOL
from sandbox_analyst.agent.tools.registry import ToolRegistry


def builtin_tools() -> ToolRegistry:
    """A new registry holding `execute_code`, `list_files` and `preview_file`."""
    return ToolRegistry([EXECUTE_CODE_TOOL, LIST_FILES_TOOL, PREVIEW_FILE_TOOL])
