"""What a team is: its roles (name, instructions, tools, the roles each may hand off to, who
may end the turn) and the limits that stop it. `default_team()` is the seed design's team:
a Planner that coordinates, a CodeAgent that runs code and an AnalystAgent that interprets.

A spec is plain data: stored on the assistant as a dict (`as_dict` / `TeamSpec.from_dict`)
and checked when it is built, so a team that cannot run is refused when it is saved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sandbox_analyst.agent.tools import (
    DATABASE_TOOLS,
    EXECUTE_CODE,
    GENERATE_CHART,
    LIST_FILES,
    PREVIEW_FILE,
    READ_FILE,
    WRITE_FILE,
)

PLANNER, CODE_AGENT, ANALYST_AGENT = "Planner", "CodeAgent", "AnalystAgent"
TERMINATE = "TERMINATE"
INSTALL_PACKAGE = "install_package"  # offered when the tool registry has one (templates)
# Stands for every MCP tool the assistant is allowed (mcp__<server>__<tool>): their names are
# the admin's servers', not known when a team is written.
MCP_TOOLS = "mcp_tools"
# Tools a role may name: ours, and those another part of the product may register. A role's
# tool the turn's registry lacks is left out of what it is offered.
ROLE_TOOLS = (
    EXECUTE_CODE,
    INSTALL_PACKAGE,
    LIST_FILES,
    READ_FILE,
    WRITE_FILE,
    GENERATE_CHART,
    PREVIEW_FILE,
    *DATABASE_TOOLS,  # offered when the assistant may query a database connection
    MCP_TOOLS,
)
_ROLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")  # a handoff tool's name must be valid
MAX_ROLES = 8
DEFAULT_MAX_MESSAGES = 30


class TeamSpecError(ValueError):
    """A team that cannot run: the message says what to change (`field`: where)."""

    def __init__(self, message: str, *, field: str = "team") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Role:
    name: str
    instructions: str
    tools: tuple[str, ...] = ()
    handoffs: tuple[str, ...] = ()  # roles it may hand the conversation to
    can_terminate: bool = False  # may end the turn (with TERMINATE)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "instructions": self.instructions,
            "tools": list(self.tools),
            "handoffs": list(self.handoffs),
            "can_terminate": self.can_terminate,
        }


@dataclass(frozen=True)
class TeamSpec:
    """`roles[0]` speaks first. Limits: `max_messages` model replies per turn, `token_budget`
    tokens (input + output, None: no budget), `timeout` seconds (None: the assistant's turn
    timeout)."""

    roles: tuple[Role, ...]
    max_messages: int = DEFAULT_MAX_MESSAGES
    token_budget: int | None = None
    timeout: float | None = None
    _by_name: dict[str, Role] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {role.name: role for role in self.roles})
        _check(self)

    @property
    def entry(self) -> Role:
        return self.roles[0]

    def role(self, name: str) -> Role:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def as_dict(self) -> dict[str, Any]:
        return {
            "roles": [role.as_dict() for role in self.roles],
            "max_messages": self.max_messages,
            "token_budget": self.token_budget,
            "timeout_s": self.timeout,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TeamSpec:
        """A spec from its stored form; `TeamSpecError` when it is not a valid team."""
        try:
            roles = tuple(
                Role(
                    name=str(role["name"]),
                    instructions=str(role.get("instructions") or ""),
                    tools=tuple(role.get("tools") or ()),
                    handoffs=tuple(role.get("handoffs") or ()),
                    can_terminate=bool(role.get("can_terminate", False)),
                )
                for role in data["roles"]
            )
        except (KeyError, TypeError) as exc:
            raise TeamSpecError(f"a team is {{'roles': [{{'name', ...}}, ...]}}: {exc}") from exc
        return cls(
            roles,
            max_messages=int(data.get("max_messages") or DEFAULT_MAX_MESSAGES),
            token_budget=data.get("token_budget"),
            timeout=data.get("timeout_s"),
        )


def _check(spec: TeamSpec) -> None:
    if not spec.roles:
        raise TeamSpecError("a team needs at least one role", field="team.roles")
    if len(spec.roles) > MAX_ROLES:
        raise TeamSpecError(f"a team has at most {MAX_ROLES} roles", field="team.roles")
    if len(spec._by_name) != len(spec.roles):
        raise TeamSpecError("two roles have the same name", field="team.roles")
    for index, role in enumerate(spec.roles):
        where = f"team.roles[{index}]"
        if not _ROLE_NAME.fullmatch(role.name):
            raise TeamSpecError(
                f"role name {role.name!r}: a letter, then letters, digits or _ (40 at most)",
                field=f"{where}.name",
            )
        unknown = [tool for tool in role.tools if tool not in ROLE_TOOLS]
        if unknown:
            raise TeamSpecError(
                f"{role.name}: no tool {unknown[0]!r}; tools: {', '.join(ROLE_TOOLS)}",
                field=f"{where}.tools",
            )
        for target in role.handoffs:
            if target == role.name or target not in spec._by_name:
                raise TeamSpecError(
                    f"{role.name} cannot hand off to {target!r}: not another role of the team",
                    field=f"{where}.handoffs",
                )
    if not any(role.can_terminate for role in spec.roles):
        raise TeamSpecError("no role may end the turn: set can_terminate on one")
    if spec.max_messages < 1:
        raise TeamSpecError("max_messages must be at least 1", field="team.max_messages")
    if spec.token_budget is not None and spec.token_budget < 1:
        raise TeamSpecError("token_budget must be positive", field="team.token_budget")
    if spec.timeout is not None and spec.timeout <= 0:
        raise TeamSpecError("timeout_s must be positive", field="team.timeout_s")


PLANNER_INSTRUCTIONS = f"""\
You coordinate the team and never run code yourself. Analyse the user's request and split it \
into steps. Hand code work (loading data, computing, charts) to {CODE_AGENT} and the \
interpretation of its results to {ANALYST_AGENT}, one at a time, each with a clear, short \
reason saying what you need. When the work is done, write the final answer for the user: a \
concise summary of the findings with the key numbers and the chart links as given, then end \
your message with the word {TERMINATE}."""

CODE_AGENT_INSTRUCTIONS = f"""\
You write and run Python in the shared sandbox to do what the {PLANNER} asked: load the data, \
compute, draw charts, save results to files that the others can read. Print the numbers you \
compute. When your part is done, say briefly what you did and where the results are (variables, \
files, chart links), then hand back to the {PLANNER}."""

ANALYST_AGENT_INSTRUCTIONS = f"""\
You interpret results; you do not run code. Read the files and outputs the {CODE_AGENT} \
produced and explain what they mean: trends, anomalies, outliers, and the limits of the method \
used. Quote only numbers you have seen. Then hand back to the {PLANNER}."""


def default_team() -> TeamSpec:
    return TeamSpec(
        (
            Role(
                PLANNER,
                PLANNER_INSTRUCTIONS,
                tools=(),
                handoffs=(CODE_AGENT, ANALYST_AGENT),
                can_terminate=True,
            ),
            Role(
                CODE_AGENT,
                CODE_AGENT_INSTRUCTIONS,
                tools=(
                    EXECUTE_CODE,
                    INSTALL_PACKAGE,
                    LIST_FILES,
                    READ_FILE,
                    WRITE_FILE,
                    GENERATE_CHART,
                    *DATABASE_TOOLS,
                    MCP_TOOLS,
                ),
                handoffs=(PLANNER,),
            ),
            Role(
                ANALYST_AGENT,
                ANALYST_AGENT_INSTRUCTIONS,
                tools=(READ_FILE, PREVIEW_FILE),
                handoffs=(PLANNER,),
            ),
        )
    )
