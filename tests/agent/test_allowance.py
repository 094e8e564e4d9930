"""A turn's allowance (the user's quotas, as the chat service asks them): asked after each model
call and each tool call, it stops the turn (a team's: tests/agent/team/test_termination.py), with a
`quota_exceeded` error, what was said so far kept, and every tool call answered so the
history can be sent again."""

from __future__ import annotations

import pytest

from sandbox_analyst.agent import ErrorEvent, ToolResultEvent
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.agent.conftest import Budget, answered, code_call, of_type, run_turn

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_an_agent_stops_after_the_model_call_that_spent_it(
    make_agent, fake: FakeLLMServer
) -> None:
    agent = make_agent(
        Turn(text="Let me look.", tool_calls=[("execute_code", {"code": "print(1)"})])
    )
    agent.allowance = Budget(tokens=15)  # one reply costs 15

    events = await run_turn(agent, "Question")

    final = events[-1]
    assert final.status == "quota_exceeded"
    (error,) = of_type(events, ErrorEvent)
    assert error.code == "quota_exceeded"
    assert "tokens_per_day" in error.message
    assert of_type(events, ToolResultEvent) == []  # the code never ran
    assert final.content.startswith("Let me look.")
    assert "tokens_per_day" in final.content
    assert answered(final.messages)
    assert len(fake.model_requests) == 1


async def test_an_agent_stops_after_the_code_run_that_spent_it(
    make_agent, fake: FakeLLMServer
) -> None:
    agent = make_agent(code_call("print('ran')"), Turn(text="never asked"))
    agent.allowance = Budget(calls=1)  # fine after the model call, spent after the run

    events = await run_turn(agent, "Question")

    assert events[-1].status == "quota_exceeded"
    assert [e.code for e in of_type(events, ErrorEvent)] == ["quota_exceeded"]
    (result,) = of_type(events, ToolResultEvent)
    assert result.stdout == "ran\n"
    assert len(fake.model_requests) == 1
    assert answered(events[-1].messages)


async def test_an_allowance_that_never_runs_out_changes_nothing(make_agent) -> None:
    agent = make_agent(code_call("print(2)"), Turn(text="Two."))
    budget = Budget()
    agent.allowance = budget

    final = (await run_turn(agent, "Question"))[-1]

    assert (final.status, final.content) == ("complete", "Two.")
    assert len(budget.asked) == 2  # after the first model call and after the code run
