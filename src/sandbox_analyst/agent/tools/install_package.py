"""`install_package(name, version?)`, and `%pip install` cells of execute_code, for an assistant
that allows approved installs: both relay the request to the server (`PackageRequester`, the
service's), which decides, installs and says what happened. The logic is in
`agent.packages`; these are the tool definitions."""

from __future__ import annotations

import dataclasses

from sandbox_analyst.agent.packages import (
    INSTALL_PACKAGE_SPEC,
    INSTALL_PACKAGE_USAGE,
    PackageRequester,
    install_package,
    install_pip_cell,
    pip_cell,
)
from sandbox_analyst.agent.tools.context import ToolContext, ToolOutcome
from sandbox_analyst.agent.tools.execute_code import EXECUTE_CODE, execute_code
from sandbox_analyst.agent.tools.registry import Tool, ToolRegistry
from sandbox_analyst.llm import ToolCall


def install_package_tool(requester: PackageRequester) -> Tool:
    async def handler(context: ToolContext) -> ToolOutcome:
        return ToolOutcome(await install_package(requester, context.call.arguments))

    return Tool(INSTALL_PACKAGE_SPEC, handler, usage=INSTALL_PACKAGE_USAGE)


@dataclasses.dataclass(frozen=True)
class _PipAwareTool(Tool):
    def code_of(self, call: ToolCall) -> str | None:
        code = super().code_of(call)
        # A pip cell is answered by the server, not run in the session: no code to log/replay.
        return None if code is not None and pip_cell(code) is not None else code


def pip_aware(tool: Tool, requester: PackageRequester) -> Tool:
    """execute_code whose cells of only `%pip install` lines ask the server instead."""

    async def handler(context: ToolContext) -> ToolOutcome:
        source = context.call.arguments.get("code")
        python = context.call.arguments.get("language", "python") == "python"
        wanted = pip_cell(source) if python and isinstance(source, str) else None
        if wanted is not None:
            return ToolOutcome(await install_pip_cell(requester, wanted))
        return await execute_code(context)

    return _PipAwareTool(tool.spec, handler, tool.usage, tool.code_argument, tool.language_argument)


def with_installs(tools: ToolRegistry, requester: PackageRequester) -> ToolRegistry:
    """`tools` plus install_package, its execute_code relaying `%pip install` cells."""
    return ToolRegistry(
        [
            *(pip_aware(tool, requester) if tool.name == EXECUTE_CODE else tool for tool in tools),
            install_package_tool(requester),
        ]
    )
