"""The tool registry: tool name -> what the model is told (`ToolSpec`, a line for the system
prompt) and the handler that runs a call.

    tools = builtin_tools()                      # execute_code, list_files, preview_file
    tools.register(Tool(spec, handler, usage="install_package(name): ..."))
    analyst = tools.subset(["execute_code", "list_files"])   # what one team role may use
    Agent(llm, sandbox, artifacts, config, tools=analyst)

A registry is a plain value: build one per use (a role, an assistant) rather than changing a
shared one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass

from sandbox_analyst.agent.tools.context import ToolContext, ToolOutcome
from sandbox_analyst.llm import ToolCall, ToolSpec
from sandbox_analyst.sandbox import tagged_cell

ToolHandler = Callable[[ToolContext], Awaitable[ToolOutcome]]
"""Runs one call. Raises `InvalidArguments` for arguments it cannot use; sandbox failures
(`FileAccessError`, `SandboxError`) are reported to the model by the toolbox."""


@dataclass(frozen=True)
class Tool:
    spec: ToolSpec
    handler: ToolHandler
    usage: str  # the system prompt's line for it, e.g. "list_files(path): list files in ..."
    # The argument holding Python source the tool runs in the session's interpreter. Such code
    # is shown as code, logged as an execution and replayed when a lost sandbox is rebuilt, so
    # only a tool that runs Python in the session itself may name one.
    code_argument: str | None = None
    # The argument naming the code's language (absent: Python). Code of another language is
    # shown, logged and replayed under its cell magic (`%%sql`, `%%R`: `sandbox.tagged_cell`).
    language_argument: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def code_of(self, call: ToolCall) -> str | None:
        """The cell `call` runs (Python source, or another language's code under its cell
        magic), when this tool runs some and it was sent."""
        if self.code_argument is None:
            return None
        code = call.arguments.get(self.code_argument)
        if not isinstance(code, str):
            return None
        language = call.arguments.get(self.language_argument) if self.language_argument else None
        return tagged_cell(code, language) if isinstance(language, str) else code


class ToolRegistry:
    """Tools by name, in the order they were registered (the order the model sees them)."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"a tool named {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    def subset(self, names: Iterable[str]) -> ToolRegistry:
        """A registry of only these tools (in this registry's order); every name must exist."""
        wanted = set(names)
        unknown = wanted - self._tools.keys()
        if unknown:
            raise KeyError(f"no tool named {', '.join(sorted(unknown))}; known: {self.names()}")
        return ToolRegistry(tool for tool in self if tool.name in wanted)

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def specs(self) -> list[ToolSpec]:
        return [tool.spec for tool in self]

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)
