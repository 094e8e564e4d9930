"""A team turn end to end with real code in one sandbox: the seed design's example runs
Planner -> CodeAgent -> Planner -> AnalystAgent -> Planner -> TERMINATE, every event names its
role, illegal handoffs are refused, and the sandbox's state outlives the team."""

from __future__ import annotations

import re

import pytest

from sandbox_analyst.agent import (
    ArtifactEvent,
    FinalEvent,
    HandoffEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from sandbox_analyst.agent.team import ANALYST_AGENT, CODE_AGENT, PLANNER
from sandbox_analyst.sandbox.local import LocalSandbox
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.agent.conftest import MemorySink, code_call, of_type, run_turn
from tests.agent.team.conftest import handoff, tool

pytestmark = pytest.mark.asyncio(loop_scope="session")

SEED_TASK = (
    "Generate 100 random points, give their statistics, draw a histogram and find the "
    "outliers by z-score."
)
GENERATE = """\
import numpy as np, pandas as pd
rng = np.random.default_rng(7)
values = rng.normal(50, 5, 100)
values[[10, 60]] = [90.0, 5.0]
points = pd.DataFrame({"value": values})
points.to_csv("points.csv", index=False)
z = (points["value"] - points["value"].mean()) / points["value"].std()
outliers = points[z.abs() > 3].assign(z=z[z.abs() > 3].round(2))
outliers.to_csv("outliers.csv", index_label="index")
print("n =", len(points), "mean =", round(points["value"].mean(), 2))
print("outliers:", len(outliers))
"""


def interpret_outliers(body: dict) -> Turn:
    """The analyst's reading, quoting the file it was shown (as a real model would)."""
    seen = last_tool_result(body) or ""
    rows = re.findall(r"^(\d+),([\d.]+),(-?[\d.]+)$", seen, flags=re.MULTILINE)
    quoted = "; ".join(f"point {i} = {v} (z {z})" for i, v, z in rows)
    return Turn(
        text=f"Two outliers stand out: {quoted}. Planted values, so the z-score finds them; "
        "with n = 100 and a normal sample a |z| > 3 rule is reasonable.",
        tool_calls=[("transfer_to_Planner", {"reason": "interpretation done"})],
    )


def seed_script() -> list[Turn]:
    return [
        handoff(CODE_AGENT, "generate the points, statistics and outliers", "Plan: code first."),
        code_call(GENERATE),
        tool(
            "generate_chart",
            data_file="points.csv",
            chart_type="histogram",
            x="value",
            title="100 random points",
        ),
        handoff(PLANNER, "data, statistics, histogram and outliers.csv are ready"),
        handoff(ANALYST_AGENT, "interpret outliers.csv"),
        tool("read_file", path="outliers.csv"),
        interpret_outliers,
        Turn(text="The sample has two outliers (90 and 5), see the histogram.\nTERMINATE"),
    ]


def tool_names(request_json: dict) -> list[str]:
    return [tool["function"]["name"] for tool in request_json.get("tools", [])]


async def test_the_seed_task_runs_planner_coder_planner_analyst_planner_terminate(
    make_team, fake: FakeLLMServer, sandbox: LocalSandbox, sink: MemorySink
) -> None:
    team = make_team(*seed_script())

    events = await run_turn(team, SEED_TASK)

    final = events[-1]
    assert isinstance(final, FinalEvent)
    assert final.status == "complete"
    assert final.stop_reason == "terminate"
    assert final.agent == PLANNER
    assert final.content == "The sample has two outliers (90 and 5), see the histogram."
    handoffs = [(e.agent, e.to) for e in of_type(events, HandoffEvent)]
    assert handoffs == [
        (PLANNER, CODE_AGENT),
        (CODE_AGENT, PLANNER),
        (PLANNER, ANALYST_AGENT),
        (ANALYST_AGENT, PLANNER),
    ]
    assert of_type(events, HandoffEvent)[0].reason == "generate the points, statistics and outliers"
    assert all(event.agent is not None for event in events[:-1])
    # Who ran what: code and chart by the CodeAgent, the reading by the AnalystAgent.
    ran = [(e.agent, e.tool) for e in of_type(events, ToolResultEvent) if e.success]
    assert (CODE_AGENT, "execute_code") in ran
    assert (CODE_AGENT, "generate_chart") in ran
    assert (ANALYST_AGENT, "read_file") in ran
    # One sandbox: what the code wrote is what the analyst read.
    (reading,) = [e for e in of_type(events, ToolResultEvent) if e.tool == "read_file"]
    assert "10,90.0," in reading.observation
    assert "60,5.0," in reading.observation
    saved = {e.artifact.name: e for e in of_type(events, ArtifactEvent)}
    assert {"points.csv", "outliers.csv"} <= saved.keys()
    (chart,) = [e for e in saved.values() if e.artifact.media_type == "image/png"]
    assert chart.agent == CODE_AGENT
    assert sink.by_name(chart.artifact.name).data.startswith(b"\x89PNG")
    # TERMINATE is the Planner's signal, never shown.
    shown = "".join(e.text for e in of_type(events, TokenEvent))
    assert "TERMINATE" not in shown
    assert "point 10 = 90.0" in shown
    # The Planner is offered only its handoffs; each role only its own tools.
    requests = [r.json for r in fake.model_requests]
    assert tool_names(requests[0]) == ["transfer_to_CodeAgent", "transfer_to_AnalystAgent"]
    assert tool_names(requests[1]) == [
        "execute_code",
        "list_files",
        "read_file",
        "write_file",
        "generate_chart",
        "transfer_to_Planner",
    ]
    assert tool_names(requests[5]) == ["preview_file", "read_file", "transfer_to_Planner"]
    assert "You are AnalystAgent" in requests[5]["messages"][0]["content"]
    # The conversation is shared: the analyst sees the code's output.
    assert any("outliers: 2" in str(m.get("content")) for m in requests[5]["messages"])
    assert [m.role for m in final.messages][-1] == "assistant"
    assert await sandbox.files.exists("outliers.csv")


async def test_an_illegal_handoff_is_refused_with_an_observation(
    make_team, fake: FakeLLMServer
) -> None:
    team = make_team(
        handoff(CODE_AGENT, "compute"),
        handoff(ANALYST_AGENT, "skip the planner"),
        handoff(PLANNER, "done after all"),
        Turn(text="Nothing to report. TERMINATE"),
    )

    events = await run_turn(team, "Hello")

    refused = [e for e in of_type(events, ToolResultEvent) if e.tool == "transfer_to_AnalystAgent"]
    (refusal,) = refused
    assert not refusal.success
    assert refusal.agent == CODE_AGENT
    assert refusal.error["name"] == "HandoffRefused"
    assert "may hand off to: transfer_to_Planner" in refusal.observation
    assert [(e.agent, e.to) for e in of_type(events, HandoffEvent)] == [
        (PLANNER, CODE_AGENT),
        (CODE_AGENT, PLANNER),
    ]
    # The refused call came back to the CodeAgent, which spoke again.
    assert "HandoffRefused" in last_tool_result(fake.model_requests[2].json)
    assert events[-1].stop_reason == "terminate"


async def test_a_role_that_answers_without_handing_off_goes_back_to_its_planner(
    make_team,
) -> None:
    team = make_team(
        handoff(ANALYST_AGENT, "explain"),
        Turn(text="It is a small sample."),
        Turn(text="Done. TERMINATE"),
    )

    events = await run_turn(team, "Explain")

    (back,) = [e for e in of_type(events, HandoffEvent) if e.agent == ANALYST_AGENT]
    assert back.to == PLANNER
    (call,) = [e for e in of_type(events, ToolCallEvent) if e.agent == ANALYST_AGENT]
    assert call.tool == "transfer_to_Planner"
    assert events[-1].content == "Done."


async def test_a_team_turn_then_a_single_agent_turn_keep_the_sandbox_variables(
    make_team, make_agent
) -> None:
    team = make_team(*seed_script())
    team_turn = (await run_turn(team, SEED_TASK))[-1]
    agent = make_agent(code_call("print(len(points), len(outliers))"), Turn(text="100 and 2."))

    events = await run_turn(agent, "How many points and outliers?", history=team_turn.messages)

    (result,) = of_type(events, ToolResultEvent)
    assert result.success
    assert result.stdout == "100 2\n"
    assert result.agent is None
    assert events[-1].status == "complete"
