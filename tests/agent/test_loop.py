"""A turn end to end: the model calls tools, reads observations and answers; guards stop it."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from sandbox_analyst.agent import (
    AgentEvent,
    ErrorEvent,
    FinalEvent,
    StdoutEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from sandbox_analyst.sandbox.local import LocalSandbox
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.agent.conftest import SALES_CSV, SALES_TOTAL, code_call, of_type, run_turn, upload

pytestmark = pytest.mark.asyncio(loop_scope="session")

SUM_REVENUE = "import pandas as pd\ndf = pd.read_csv('sales.csv')\nprint(df['revenue'].sum())"


def quote_printed_number(body: dict) -> Turn:
    """The model's answer, quoting the number the code printed (as a real model would)."""
    observation = last_tool_result(body) or ""
    printed = re.search(r"stdout:\n([\d.]+)", observation)
    return Turn(text=f"Total revenue is {printed.group(1) if printed else 'unknown'}.")


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_question_about_a_csv_is_answered_from_code_output(
    kind, make_agent, sandbox: LocalSandbox, fake: FakeLLMServer
) -> None:
    sales = await upload(sandbox, "sales.csv", SALES_CSV, "text/csv")
    agent = make_agent(code_call(SUM_REVENUE), quote_printed_number, kind=kind)

    events = await run_turn(agent, "What is the total revenue?", [sales])

    first, second = fake.model_requests
    sent_back = last_tool_result(second.json)
    assert sent_back is not None
    assert f"stdout:\n{SALES_TOTAL}" in sent_back
    assert "success: true" in sent_back
    (call,) = of_type(events, ToolCallEvent)
    assert call.tool == "execute_code"
    assert call.code == SUM_REVENUE
    assert [e.text for e in of_type(events, StdoutEvent)] == [f"{SALES_TOTAL}\n"]
    final = events[-1]
    assert isinstance(final, FinalEvent)
    assert final.status == "complete"
    assert final.content == f"Total revenue is {SALES_TOTAL}."
    assert "".join(e.text for e in of_type(events, TokenEvent)) == final.content
    assert final.usage == {"input_tokens": 20, "output_tokens": 10}
    assert [m.role for m in final.messages] == ["assistant", "tool", "assistant"]
    assert final.messages[0].tool_calls[0].id == final.messages[1].tool_call_id == call.call_id
    tool_names = [t.get("name") or t["function"]["name"] for t in first.json["tools"]]
    assert tool_names == ["execute_code", "list_files", "preview_file"]


async def test_messages_of_a_turn_are_valid_history_for_the_next(
    make_agent, sandbox: LocalSandbox, fake: FakeLLMServer
) -> None:
    agent = make_agent(code_call("total = 6 * 7\nprint(total)"), Turn(text="It is 42."))
    first_turn = (await run_turn(agent, "Six times seven?"))[-1]
    agent = make_agent(code_call("print(total + 1)"), quote_printed_number)

    second_turn = await run_turn(agent, "And plus one?", history=first_turn.messages)

    assert second_turn[-1].status == "complete"
    request = fake.model_requests[2].json
    roles = [m["role"] for m in request["messages"]]
    assert roles == ["system", "assistant", "tool", "assistant", "user"]
    assert "stdout:\n43" in last_tool_result(fake.model_requests[3].json)


async def test_failing_cell_then_corrected_one(make_agent, fake: FakeLLMServer) -> None:
    agent = make_agent(
        code_call("print(undefined_name)"),
        code_call("undefined_name = 5\nprint(undefined_name)"),
        Turn(text="It is 5."),
    )

    events = await run_turn(agent, "Print it.")

    failed, fixed = of_type(events, ToolResultEvent)
    assert not failed.success
    assert failed.error["name"] == "NameError"
    assert "undefined_name" in failed.error["value"]
    assert fixed.success
    assert fixed.error is None
    assert fixed.stdout == "5\n"
    failure_sent = last_tool_result(fake.model_requests[1].json)
    assert "success: false" in failure_sent
    assert "NameError: name 'undefined_name' is not defined" in failure_sent
    assert "traceback (last lines):" in failure_sent
    # Same layout either way: the same section headers in the same order.
    headers = re.compile(r"^(?:success|stdout|stderr|error|results|files|notes):", re.MULTILINE)
    assert headers.findall(failed.observation) == headers.findall(fixed.observation)
    assert events[-1].status == "complete"


async def test_same_failing_code_twice_asks_for_another_approach(make_agent) -> None:
    agent = make_agent(
        code_call("x = 1 / 0"),
        code_call("x  =  1/0\n\n"),
        Turn(text="Division by zero is undefined."),
    )

    events = await run_turn(agent, "Divide.")

    first, second = of_type(events, ToolResultEvent)
    assert "change approach" not in first.observation
    assert "failed 2 times" in second.observation
    assert "change approach" in second.observation


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_max_iterations_ends_with_a_message_written_without_tools(
    kind, make_agent, fake: FakeLLMServer
) -> None:
    agent = make_agent(
        code_call("print('step 1')"),
        code_call("print('step 2')"),
        Turn(text="I printed two steps but did not finish."),
        kind=kind,
        max_iterations=2,
    )

    events = await run_turn(agent, "Loop forever.")

    assert len(of_type(events, ToolResultEvent)) == 2
    (error,) = of_type(events, ErrorEvent)
    assert error.code == "max_iterations"
    assert len(fake.model_requests) == 3
    last_request = fake.model_requests[-1].json
    assert "tools" not in last_request
    # The steps went as plain text: no tool blocks, which providers refuse without tools.
    sent = json.dumps(last_request["messages"])
    for tool_marker in ("tool_calls", "tool_use", "tool_result", '"role": "tool"'):
        assert tool_marker not in sent
    assert "step 2" in sent
    assert "no more code can run" in sent
    final = events[-1]
    assert final.status == "max_iterations"
    assert final.content == "I printed two steps but did not finish."
    assert [m.role for m in final.messages] == ["assistant", "tool"] * 2 + ["assistant"]
    assert final.messages[0].tool_calls  # the stored history keeps the real structure


async def test_max_iterations_composes_a_message_when_the_model_cannot(
    make_agent, fake: FakeLLMServer
) -> None:
    agent = make_agent(
        code_call("raise ValueError('bad data')"),
        Turn(error_status=400, error_message="context too long"),
        max_iterations=1,
    )

    events = await run_turn(agent, "Try once.")

    final = events[-1]
    assert final.status == "max_iterations"
    assert "I stopped after 1 steps" in final.content
    assert "ValueError: bad data" in final.content


async def test_turn_timeout_interrupts_running_code(make_agent, sandbox: LocalSandbox) -> None:
    agent = make_agent(
        code_call("kept = 'yes'\nimport time\nprint('started', flush=True)\ntime.sleep(60)"),
        turn_timeout=3.0,
    )

    events = await run_turn(agent, "Take your time.")

    (error,) = of_type(events, ErrorEvent)
    assert error.code == "turn_timeout"
    (result,) = of_type(events, ToolResultEvent)
    assert not result.success
    assert result.stdout == "started\n"
    final = events[-1]
    assert final.status == "timeout"
    assert [m.role for m in final.messages] == ["assistant", "tool", "assistant"]
    execution = await sandbox.run_code("kept")
    assert execution.text == "'yes'"


async def test_cancelling_the_turn_interrupts_the_code_and_keeps_the_session(
    make_agent, sandbox: LocalSandbox
) -> None:
    agent = make_agent(
        code_call("before = 41\nimport time\nprint('running', flush=True)\ntime.sleep(60)")
    )
    started = asyncio.Event()

    async def on_event(event: AgentEvent) -> None:
        if isinstance(event, StdoutEvent):
            started.set()

    task = asyncio.create_task(agent.run([], "Run the long cell.", [], on_event))
    await asyncio.wait_for(started.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    execution = await sandbox.run_code("before + 1")
    assert execution.error is None
    assert execution.text == "42"


async def test_llm_error_fails_the_turn(make_agent) -> None:
    agent = make_agent(Turn(error_status=401))

    events = await run_turn(agent, "Hello?")

    error, final = events
    assert isinstance(error, ErrorEvent)
    assert error.code == "llm_error"
    assert "test-model" in error.message
    assert "authentication failed" in error.message
    assert isinstance(final, FinalEvent)
    assert final.status == "failed"


async def test_turn_timeout_while_the_model_streams(make_agent) -> None:
    agent = make_agent(Turn(text="thinking very slowly", hang_after=2), turn_timeout=1.0)

    events = await run_turn(agent, "Hurry.")

    (error,) = of_type(events, ErrorEvent)
    assert error.code == "turn_timeout"
    final = events[-1]
    assert final.status == "timeout"
    assert [m.role for m in final.messages] == ["assistant"]
    assert "1 s allowed" in final.content
