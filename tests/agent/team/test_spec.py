"""A team spec: the seed's default team, its stored form, and the teams refused as unable to
run (each with the field to change)."""

from __future__ import annotations

import pytest

from sandbox_analyst.agent.team import (
    ANALYST_AGENT,
    CODE_AGENT,
    PLANNER,
    Role,
    TeamSpec,
    TeamSpecError,
    default_team,
)


def test_the_default_team_is_the_seed_design() -> None:
    team = default_team()

    assert [role.name for role in team.roles] == [PLANNER, CODE_AGENT, ANALYST_AGENT]
    assert team.entry.name == PLANNER
    planner, coder, analyst = team.roles
    assert planner.tools == ()
    assert planner.handoffs == (CODE_AGENT, ANALYST_AGENT)
    assert planner.can_terminate
    assert "install_package" in coder.tools
    assert coder.handoffs == analyst.handoffs == (PLANNER,)
    assert analyst.tools == ("read_file", "preview_file")
    assert not coder.can_terminate
    assert not analyst.can_terminate


def test_a_spec_survives_its_stored_form() -> None:
    team = TeamSpec(default_team().roles, max_messages=12, token_budget=5000, timeout=90.0)

    assert TeamSpec.from_dict(team.as_dict()) == team


@pytest.mark.parametrize(
    ("roles", "field", "message"),
    [
        ((), "team.roles", "at least one role"),
        ((Role("A", "", can_terminate=True), Role("A", "")), "team.roles", "same name"),
        ((Role("has space", "", can_terminate=True),), "team.roles[0].name", "a letter"),
        ((Role("A", "", tools=("rm_rf",), can_terminate=True),), "team.roles[0].tools", "rm_rf"),
        ((Role("A", "", handoffs=("B",), can_terminate=True),), "team.roles[0].handoffs", "'B'"),
        ((Role("A", "", handoffs=("A",), can_terminate=True),), "team.roles[0].handoffs", "'A'"),
        ((Role("A", ""),), "team", "can_terminate"),
    ],
)
def test_a_team_that_cannot_run_is_refused(roles, field, message) -> None:
    with pytest.raises(TeamSpecError, match=message) as refused:
        TeamSpec(roles)
    assert refused.value.field == field


def test_a_stored_form_without_roles_is_refused() -> None:
    with pytest.raises(TeamSpecError, match="roles"):
        TeamSpec.from_dict({"max_messages": 3})
