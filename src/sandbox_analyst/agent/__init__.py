"""The agent: turns one user message into a stream of typed events, running the model's code
in a sandbox and saving what it produces.

    agent = Agent(llm, sandbox, artifacts, AgentConfig(instructions="..."))
    final = await agent.run(history, "What is the mean revenue?", files, on_event)
    # on_event got TokenEvent, ToolCallEvent, StdoutEvent, ... as they happened

The tools come from a `ToolRegistry` (`builtin_tools()` by default; `Agent(..., tools=...)`).
Team mode (`agent/team/`): `Team(llm, sandbox, artifacts, config, default_team()).run(...)`,
the same contract, with several roles handing off to each other. A task's coding agent is
`Agent(..., tools=coding_tools(approve), prompt=task_system_prompt)`.
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
    HandoffEvent,
    ResultEvent,
    StderrEvent,
    StdoutEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from sandbox_analyst.agent.figures import FigureNamer, last_figure_number
from sandbox_analyst.agent.loop import Agent, SystemPrompt
from sandbox_analyst.agent.steps import Allowance, Usage
from sandbox_analyst.agent.task_prompt import task_system_prompt
from sandbox_analyst.agent.team import (
    HANDOFF_PREFIX,
    StopReason,
    Team,
    TeamSpec,
    TeamSpecError,
    default_team,
)
from sandbox_analyst.agent.tools import (
    BASH,
    EDIT_FILE,
    EXECUTE_CODE,
    GENERATE_CHART,
    GLOB,
    GREP,
    LIST_FILES,
    PREVIEW_FILE,
    READ_FILE,
    WRITE_FILE,
    Approval,
    CommandApprover,
    InvalidArguments,
    Tool,
    ToolContext,
    ToolHandler,
    ToolOutcome,
    ToolRegistry,
    analyst_tools,
    builtin_tools,
    coding_tools,
)

__all__ = [
    "BASH",
    "EDIT_FILE",
    "EXECUTE_CODE",
    "GENERATE_CHART",
    "GLOB",
    "GREP",
    "HANDOFF_PREFIX",
    "LIST_FILES",
    "PREVIEW_FILE",
    "READ_FILE",
    "WRITE_FILE",
    "Agent",
    "AgentConfig",
    "AgentEvent",
    "Allowance",
    "Approval",
    "ArtifactEvent",
    "ArtifactNotSaved",
    "ArtifactRef",
    "ArtifactSink",
    "ArtifactUsage",
    "CommandApprover",
    "DataFile",
    "ErrorCode",
    "ErrorEvent",
    "EventSink",
    "FigureNamer",
    "FinalEvent",
    "HandoffEvent",
    "InvalidArguments",
    "ResultEvent",
    "StderrEvent",
    "StdoutEvent",
    "StopReason",
    "SystemPrompt",
    "Team",
    "TeamSpec",
    "TeamSpecError",
    "TokenEvent",
    "Tool",
    "ToolCallEvent",
    "ToolContext",
    "ToolHandler",
    "ToolOutcome",
    "ToolRegistry",
    "ToolResultEvent",
    "Usage",
    "analyst_tools",
    "builtin_tools",
    "coding_tools",
    "default_team",
    "last_figure_number",
    "task_system_prompt",
]
