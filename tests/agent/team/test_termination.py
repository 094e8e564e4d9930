"""Every way a team turn ends, each reported as its stop reason: TERMINATE, a role answering
with nobody to hand to, the message limit, the token budget, the wall-clock timeout, roles
handing off in a circle, the same failing code again, the turn's allowance (the user's quota)
and the caller's cancel."""

from __future__ import annotations

import asyncio

import pytest

from sandbox_analyst.agent import (
    AgentEvent,
    ErrorEvent,
    HandoffEvent,
    StdoutEvent,
    TokenEvent,
    ToolResultEvent,
)
from sandbox_analyst.agent.team import CODE_AGENT, PLANNER, Role, TeamSpec, default_team
from sandbox_analyst.agent.team.termination import TerminateFilter
from sandbox_analyst.sandbox.local import LocalSandbox
from sandbox_analyst.testing import Turn
from tests.agent.conftest import code_call, of_type, run_turn
from tests.agent.team.conftest import handoff
from tests.agent.test_allowance import Budget, answered

pytestmark = pytest.mark.asyncio(loop_scope="session")


def limited(**limits: object) -> TeamSpec:
    return TeamSpec(default_team().roles, **limits)


def error_codes(events: list) -> list[str]:
    return [e.code for e in of_type(events, ErrorEvent)]


async def test_terminate_split_across_tokens_is_not_shown() -> None:
    shown: list[TokenEvent] = []

    async def collect(event: AgentEvent) -> None:
        shown.append(event)

    words = TerminateFilter(collect)
    for piece in ["All done. TERM", "INA", "TE", " and TERMS apply", " TERMIN"]:
        await words(TokenEvent(piece, agent=PLANNER))
    await words.flush()

    assert "".join(e.text for e in shown) == "All done.  and TERMS apply TERMIN"
    assert {e.agent for e in shown} == {PLANNER}


async def test_a_role_without_handoffs_that_answers_ends_the_turn(make_team) -> None:
    solo = TeamSpec((Role("Solo", "Answer.", can_terminate=True),))
    team = make_team(Turn(text="Forty-two."), spec=solo)

    final = (await run_turn(team, "Question"))[-1]

    assert final.status == "complete"
    assert final.stop_reason == "final_answer"
    assert final.content == "Forty-two."


async def test_the_message_limit_stops_the_team(make_team) -> None:
    team = make_team(
        handoff(CODE_AGENT, "count"),
        code_call("n = 1\nprint(n)"),
        code_call("n += 1\nprint(n)"),
        spec=limited(max_messages=3),
    )

    events = await run_turn(team, "Count")

    final = events[-1]
    assert final.status == "max_messages"
    assert final.stop_reason == "max_messages"
    assert final.agent == CODE_AGENT
    assert error_codes(events) == ["max_messages"]
    assert "The team stopped (the team used all 3 messages)" in final.content
    assert [m.role for m in final.messages][-1] == "assistant"


async def test_the_token_budget_stops_the_team(make_team) -> None:
    # Each scripted reply costs 15 tokens: the budget is spent after two.
    team = make_team(
        handoff(CODE_AGENT, "count"),
        code_call("print(1)"),
        spec=limited(token_budget=30),
    )

    events = await run_turn(team, "Count")

    assert events[-1].stop_reason == "token_budget"
    assert error_codes(events) == ["token_budget"]
    assert events[-1].usage == {"input_tokens": 20, "output_tokens": 10}


async def test_the_wall_clock_timeout_interrupts_the_running_code(
    make_team, sandbox: LocalSandbox
) -> None:
    team = make_team(
        handoff(CODE_AGENT, "wait"),
        code_call("kept = 'yes'\nimport time\nprint('sleeping', flush=True)\ntime.sleep(60)"),
        spec=limited(timeout=3.0),
    )

    events = await run_turn(team, "Wait")

    final = events[-1]
    assert final.status == "timeout"
    assert final.stop_reason == "timeout"
    (interrupted,) = [e for e in of_type(events, ToolResultEvent) if e.tool == "execute_code"]
    assert interrupted.agent == CODE_AGENT
    assert interrupted.error["name"] == "Interrupted"
    assert error_codes(events) == ["turn_timeout"]
    execution = await sandbox.run_code("kept")
    assert execution.error is None
    assert execution.text == "'yes'"


async def test_handing_off_in_a_circle_without_progress_stops_the_team(make_team) -> None:
    team = make_team(
        handoff(CODE_AGENT, "do it"),
        handoff(PLANNER, "no, you do it"),
        handoff(CODE_AGENT, "do it, really"),
    )

    events = await run_turn(team, "Anything")

    assert events[-1].stop_reason == "handoff_loop"
    assert error_codes(events) == ["handoff_loop"]
    assert len(of_type(events, HandoffEvent)) == 3


async def test_work_between_handoffs_is_progress(make_team) -> None:
    team = make_team(
        handoff(CODE_AGENT, "step one"),
        code_call("print(1)"),
        handoff(PLANNER, "done"),
        handoff(CODE_AGENT, "step two"),
        code_call("print(2)"),
        handoff(PLANNER, "done"),
        Turn(text="1 then 2. TERMINATE"),
    )

    events = await run_turn(team, "Two steps")

    assert events[-1].stop_reason == "terminate"
    assert error_codes(events) == []


async def test_the_same_failing_code_twice_stops_the_team(make_team) -> None:
    team = make_team(
        handoff(CODE_AGENT, "divide"),
        code_call("1 / 0"),
        code_call("1/0  # again"),
    )

    events = await run_turn(team, "Divide")

    assert events[-1].stop_reason == "repeated_failure"
    assert error_codes(events) == ["repeated_failure"]
    assert "ZeroDivisionError" in events[-1].content


async def test_cancelling_mid_team_interrupts_the_code_and_keeps_the_session(
    make_team, sandbox: LocalSandbox
) -> None:
    team = make_team(
        handoff(CODE_AGENT, "work"),
        code_call("before = 7\nimport time\nprint('started', flush=True)\ntime.sleep(60)"),
    )
    seen: list[AgentEvent] = []
    started = asyncio.Event()

    async def collect(event: AgentEvent) -> None:
        seen.append(event)
        if isinstance(event, StdoutEvent):
            started.set()

    task = asyncio.create_task(team.run([], "Work", [], collect))
    await asyncio.wait_for(started.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert [e.agent for e in of_type(seen, StdoutEvent)] == [CODE_AGENT]
    execution = await sandbox.run_code("before + 1")
    assert execution.error is None
    assert execution.text == "8"


async def test_a_team_stops_with_the_quota_as_its_stop_reason(make_team) -> None:
    team = make_team(handoff(CODE_AGENT, "count"), code_call("print(1)"), Turn(text="never"))
    team.allowance = Budget(calls=2)

    events = await run_turn(team, "Count")

    final = events[-1]
    assert final.stop_reason == "quota_exceeded"
    assert final.status == "quota_exceeded"
    (error,) = of_type(events, ErrorEvent)
    assert error.code == "quota_exceeded"
    assert error.agent is not None
    assert "cpu_seconds_per_day" in final.content
    assert answered(final.messages)
