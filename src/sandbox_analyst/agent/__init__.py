"""The agent: turns one user message into a stream of typed events, running the model's code
in a sandbox and saving what it produces.

    agent = Agent(llm, sandbox, artifacts, AgentConfig(instructions="..."))
    final = await agent.run(history, "What is the mean revenue?", files, on_event)
    # on_event got TokenEvent, ToolCallEvent, StdoutEvent, ... as they happened

The tools come from a `ToolRegistry` (`builtin_tools()` by default; `Agent(..., tools=...)`).
"""

from sandbox_analyst.agent.artifact_limits import ArtifactUsage
from sandbox_analyst.agent.artifacts import ArtifactNotSaved, ArtifactRef, ArtifactSink
from sandbox_analyst.agent.config import AgentConfig, DataFile
from sandbox_analyst.agent.events import (
    AgentEvent,
    ArtifactEvent,
    ErrorCode,
    ErrorEvent,
    EventSink,
    FinalEvent,
    ResultEvent,
    StderrEvent,
    StdoutEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from sandbox_analyst.agent.figures import FigureNamer, last_figure_number
from sandbox_analyst.agent.loop import Agent
from sandbox_analyst.agent.tools import (
    EXECUTE_CODE,
    LIST_FILES,
    PREVIEW_FILE,
    InvalidArguments,
    Tool,
    ToolContext,
    ToolHandler,
    ToolOutcome,
    ToolRegistry,
    builtin_tools,
)

__all__ = [
    "EXECUTE_CODE",
    "LIST_FILES",
    "PREVIEW_FILE",
    "Agent",
    "AgentConfig",
    "AgentEvent",
    "ArtifactEvent",
    "ArtifactNotSaved",
    "ArtifactRef",
    "ArtifactSink",
    "ArtifactUsage",
    "DataFile",
    "ErrorCode",
    "ErrorEvent",
    "EventSink",
    "FigureNamer",
    "FinalEvent",
    "InvalidArguments",
    "ResultEvent",
    "StderrEvent",
    "StdoutEvent",
    "TokenEvent",
    "Tool",
    "ToolCallEvent",
    "ToolContext",
    "ToolHandler",
    "ToolOutcome",
    "ToolRegistry",
    "ToolResultEvent",
    "builtin_tools",
    "last_figure_number",
]
