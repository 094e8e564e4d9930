"""The agent: turns one user message into a stream of typed events, running the model's code
in a sandbox and saving what it produces.

    agent = Agent(llm, sandbox, artifacts, AgentConfig(instructions="..."))
    async for event in agent.run(history, "What is the mean revenue?", files):
        ...  # TokenEvent, ToolCallEvent, StdoutEvent, ..., FinalEvent
"""

from sandbox_analyst.agent.artifacts import (
    ArtifactNotSaved,
    ArtifactRef,
    ArtifactSink,
    last_figure_number,
)
from sandbox_analyst.agent.config import AgentConfig, DataFile
from sandbox_analyst.agent.events import (
    AgentEvent,
    ArtifactEvent,
    ErrorEvent,
    FinalEvent,
    ResultEvent,
    StderrEvent,
    StdoutEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from sandbox_analyst.agent.loop import Agent
from sandbox_analyst.agent.tools import TOOL_SPECS

__all__ = [
    "TOOL_SPECS",
    "Agent",
    "AgentConfig",
    "AgentEvent",
    "ArtifactEvent",
    "ArtifactNotSaved",
    "ArtifactRef",
    "ArtifactSink",
    "DataFile",
    "ErrorEvent",
    "FinalEvent",
    "ResultEvent",
    "StderrEvent",
    "StdoutEvent",
    "TokenEvent",
    "ToolCallEvent",
    "ToolResultEvent",
    "last_figure_number",
]
