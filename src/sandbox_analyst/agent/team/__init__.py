"""Team mode: several roles (by default a Planner, a CodeAgent and an AnalystAgent) answer one
user message in one shared conversation and sandbox, handing off to each other by tool calls
(`transfer_to_<Role>`), until the role allowed to end says TERMINATE or a limit stops them.

    team = Team(llm, sandbox, artifacts, AgentConfig(), default_team())
    final = await team.run(history, "Find the outliers in data.csv", files, on_event)
    final.stop_reason        # "terminate", "max_messages", "handoff_loop", ...
"""

from sandbox_analyst.agent.team.handoff import HANDOFF_PREFIX, handoff_tool_name
from sandbox_analyst.agent.team.loop import Team
from sandbox_analyst.agent.team.spec import (
    ANALYST_AGENT,
    CODE_AGENT,
    INSTALL_PACKAGE,
    MCP_TOOLS,
    PLANNER,
    ROLE_TOOLS,
    TERMINATE,
    Role,
    TeamSpec,
    TeamSpecError,
    default_team,
)
from sandbox_analyst.agent.team.termination import StopReason

__all__ = [
    "ANALYST_AGENT",
    "CODE_AGENT",
    "HANDOFF_PREFIX",
    "INSTALL_PACKAGE",
    "MCP_TOOLS",
    "PLANNER",
    "ROLE_TOOLS",
    "TERMINATE",
    "Role",
    "StopReason",
    "Team",
    "TeamSpec",
    "TeamSpecError",
    "default_team",
    "handoff_tool_name",
]
