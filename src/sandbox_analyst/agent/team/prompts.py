"""A team role's system prompt: who is on the team and what each does, the role's own
instructions, how to hand off and (for a role that may) how to end, its tools, the analyst's
rules for working with code and results, and the uploaded files."""

from __future__ import annotations

from sandbox_analyst.agent.config import AgentConfig, DataFile
from sandbox_analyst.agent.preview import FilePreview
from sandbox_analyst.agent.prompts import (
    DEFAULT_LIBRARIES,
    HOW_TO_WORK,
    files_section,
    tools_section,
)
from sandbox_analyst.agent.team.handoff import handoff_tool_name
from sandbox_analyst.agent.team.spec import TERMINATE, Role, TeamSpec
from sandbox_analyst.agent.tools import ToolRegistry


def role_prompt(
    spec: TeamSpec,
    role: Role,
    config: AgentConfig,
    tools: ToolRegistry,
    files: list[DataFile],
    previews: dict[str, FilePreview],
    previewed_before: set[str],
) -> str:
    """`tools`: what this role is offered (its handoffs included)."""
    members = "\n".join(
        f"- {member.name}{' (you)' if member.name == role.name else ''}: "
        f"{_summary(member.instructions)}"
        for member in spec.roles
    )
    sections = [
        f"You are {role.name}, one of a team of data analysts answering the user together. "
        "The team shares one conversation and one sandbox: a stateful IPython session whose "
        "working directory holds the uploaded files; variables and files one member makes are "
        f"there for the others.\nThe team:\n{members}",
        f"Your part:\n{role.instructions.strip()}",
        _handoffs(role),
    ]
    if role.can_terminate:
        sections.append(
            "You give the final answer. Write it for the user and end it with the word "
            f"{TERMINATE} (the user does not see that word); the turn then ends."
        )
    if len(tools):
        sections.append(tools_section(tools))
    libraries = ", ".join(config.allowed_libraries or DEFAULT_LIBRARIES)
    sections += [HOW_TO_WORK, f"Libraries the sandbox has: {libraries}."]
    if config.instructions.strip():
        sections.append(f"Instructions for this assistant:\n{config.instructions.strip()}")
    sections.append(files_section(files, previews, previewed_before))
    return "\n\n".join(sections)


def _handoffs(role: Role) -> str:
    if not role.handoffs:
        return "You cannot hand off: answer the user yourself."
    calls = ", ".join(f"{handoff_tool_name(name)}(reason)" for name in role.handoffs)
    return (
        f"To pass the conversation on, call one of: {calls}, with a short reason saying what "
        "you need. Hand off to one member at a time; a handoff is the last thing you do in a "
        "message."
    )


def _summary(instructions: str) -> str:
    first = instructions.strip().split(". ")[0].strip()
    return first.rstrip(".") + "." if first else "(no instructions)"
