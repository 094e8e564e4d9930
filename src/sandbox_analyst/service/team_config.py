"""An assistant's team (team mode) as the API sends and stores it: its roles (name,
instructions, tools, handoffs, who may end the turn) and limits. Checked by the agent's own
`TeamSpec` when it arrives, so a team that could not run is refused when it is saved (422, the
message saying what to change), never when someone chats with it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sandbox_analyst.agent import TeamSpec, TeamSpecError, default_team
from sandbox_analyst.service.text import Identifier, Instructions
from sandbox_analyst.store import Assistant

Mode = Literal["single", "team"]


class RoleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=40, description="e.g. Planner; letters, digits, _")
    instructions: Instructions = ""
    tools: list[Identifier] = Field(default_factory=list, max_length=16)
    handoffs: list[str] = Field(
        default_factory=list, max_length=8, description="Roles it may hand the conversation to."
    )
    can_terminate: bool = Field(False, description="May end the turn, with TERMINATE.")


class TeamConfig(BaseModel):
    """The first role speaks first."""

    model_config = ConfigDict(extra="forbid")

    roles: list[RoleConfig] = Field(min_length=1, max_length=8)
    max_messages: int = Field(30, ge=1, le=200, description="Model replies per turn.")
    token_budget: int | None = Field(None, ge=1, description="Tokens per turn (in + out).")
    timeout_s: float | None = Field(None, gt=0, le=3600, description="Seconds per turn.")

    @model_validator(mode="after")
    def _runs(self) -> TeamConfig:
        try:
            TeamSpec.from_dict(self.model_dump())
        except TeamSpecError as exc:
            raise ValueError(f"{exc.field}: {exc}") from None
        return self


def default_team_config() -> dict[str, Any]:
    """The seed design's team (Planner, CodeAgent, AnalystAgent), as stored."""
    return default_team().as_dict()


def team_of(assistant: Assistant) -> TeamSpec | None:
    """The team an assistant runs as (None in single mode): its own, or the default one."""
    if assistant.mode != "team":
        return None
    if not assistant.team:
        return default_team()
    return TeamSpec.from_dict(assistant.team)
