"""Running cases through the real service (conversations, uploads, chat turns, real sandboxes)
with the scripted model: a right answer passes, a wrong one fails naming the check with what
was expected and what came, a turn that crashes counts as an error, a case out of time as a
timeout, and repeats add up."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox_analyst.evaluation import (
    Evaluation,
    PlannedRun,
    RunResult,
    Suite,
    assistant_info,
    default_assistant,
)
from sandbox_analyst.service import AssistantCreate, Principal, Services
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.evaluation.conftest import TOTAL_CODE, answering, sales_suite

pytestmark = pytest.mark.asyncio(loop_scope="session")

NUMERIC_TOTAL = """\
- {type: numeric, name: total, expected: 33, tolerance: {abs: 0}}
"""


async def evaluate(services: Services, principal: Principal, suite: Suite, **options: object):
    assistant = await default_assistant(services, principal)
    evaluation = Evaluation(services, principal, suite, **options)  # type: ignore[arg-type]
    report = await evaluation.run([(assistant, assistant_info(services, assistant))], suite.cases)
    (only,) = report.assistants
    return only


async def test_a_right_answer_passes_and_its_costs_are_counted(
    model_services: Services, admin: Principal, fake: FakeLLMServer, tmp_path: Path
) -> None:
    suite = sales_suite(tmp_path, NUMERIC_TOTAL)
    fake.add_turns(*answering(TOTAL_CODE, "The total is 33.\n\n@total[{value}]"))

    report = await evaluate(model_services, admin, suite)

    (run,) = report.runs
    assert run.passed, run
    assert run.reasons == []
    assert run.status == "complete"
    assert run.turns == 2  # one model call ran code, one answered
    assert run.tool_calls == 1
    assert run.input_tokens == 20
    assert run.output_tokens == 10
    assert "@total[33]" in run.answer
    # The model was asked the question with the instruction naming the value it wants.
    asked = str(fake.model_requests[0].json)
    assert "What were the total sales?" in asked
    assert "@total[value]" in asked
    # Each run is a fresh conversation, kept for inspection; its sandbox is ended.
    assert run.conversation_id is not None
    assert model_services.sandboxes.get(run.conversation_id) is None
    detail = await model_services.conversations.get(admin, run.conversation_id)
    assert detail.conversation.title == "eval sales: total-sales"


async def test_a_wrong_answer_fails_naming_the_check_the_expected_and_the_actual(
    model_services: Services, admin: Principal, fake: FakeLLMServer, tmp_path: Path
) -> None:
    suite = sales_suite(tmp_path, NUMERIC_TOTAL + "- {type: contains, text: March}\n")
    fake.add_turns(Turn(text="The total is @total[34] and the best month was January."))

    report = await evaluate(model_services, admin, suite)

    (run,) = report.runs
    assert not run.passed
    assert run.reasons == ["check_failed:numeric", "check_failed:contains"]
    numeric, contains = run.failed_checks
    assert numeric.label == "numeric @total"
    assert numeric.detail == "expected @total[33] (±0), got 34"
    assert contains.detail == "the answer does not say 'March'"
    assert report.summary.failures == {"check_failed:numeric": 1, "check_failed:contains": 1}


async def test_a_turn_whose_model_fails_counts_as_an_error(
    model_services: Services, admin: Principal, fake: FakeLLMServer, tmp_path: Path
) -> None:
    suite = sales_suite(tmp_path, NUMERIC_TOTAL)
    fake.add_turns(Turn(error_status=500, error_message="the model server broke"))

    report = await evaluate(model_services, admin, suite)

    (run,) = report.runs
    assert not run.passed
    assert run.reasons == ["error:llm_error"]
    assert run.status == "failed"
    assert run.checks == []  # nothing to judge
    assert "broke" in (run.error or "")


async def test_a_model_that_runs_out_of_script_midway_is_an_error_too(
    model_services: Services, admin: Principal, fake: FakeLLMServer, tmp_path: Path
) -> None:
    suite = sales_suite(tmp_path, NUMERIC_TOTAL)
    fake.add_turns(Turn(tool_calls=[("execute_code", {"code": "print(1)"})]))  # then nothing

    report = await evaluate(model_services, admin, suite)

    (run,) = report.runs
    assert run.reasons == ["error:llm_error"]
    assert run.tool_calls == 1
    assert "script exhausted" in (run.error or "")


async def test_a_case_out_of_time_is_cancelled_and_counts_as_a_timeout(
    model_services: Services, admin: Principal, fake: FakeLLMServer, tmp_path: Path
) -> None:
    suite = sales_suite(tmp_path, NUMERIC_TOTAL, extra="timeout_s: 1\n")
    fake.add_turns(
        Turn(tool_calls=[("execute_code", {"code": "import time; time.sleep(30)"})]),
        Turn(text="@total[33]"),
    )

    report = await evaluate(model_services, admin, suite)

    (run,) = report.runs
    assert run.reasons == ["timeout"]
    assert run.error == "the case took longer than 1 s"
    detail = await model_services.conversations.get(admin, run.conversation_id or "")
    assert detail.messages[-1].status == "cancelled"  # the turn was stopped and stored


async def test_repeats_aggregate_into_a_pass_rate_with_its_interval(
    model_services: Services, admin: Principal, fake: FakeLLMServer, tmp_path: Path
) -> None:
    suite = sales_suite(tmp_path, NUMERIC_TOTAL)
    fake.add_turns(
        Turn(text="@total[33]"), Turn(text="@total[32]"), Turn(text="It is @total[33.0].")
    )

    report = await evaluate(model_services, admin, suite, repeat=3)

    assert [run.repeat for run in report.ordered_runs()] == [1, 2, 3]
    assert [run.passed for run in report.ordered_runs()] == [True, False, True]
    summary = report.summary
    assert (summary.runs, summary.passed) == (3, 2)
    assert summary.pass_rate == pytest.approx(2 / 3)
    low, high = summary.interval
    assert low == pytest.approx(0.2077, abs=1e-4)
    assert high == pytest.approx(0.9385, abs=1e-4)
    assert summary.failures == {"check_failed:numeric": 1}
    assert report.case_summary("total-sales").passed == 2


async def test_charts_files_and_tool_calls_are_checked_from_what_the_code_made(
    model_services: Services, admin: Principal, fake: FakeLLMServer, tmp_path: Path
) -> None:
    suite = sales_suite(
        tmp_path,
        """\
        - {type: min_charts, count: 1}
        - {type: output_file, name: "*.csv", columns: [month, share]}
        - {type: max_tool_calls, count: 1}
        """,
    )
    code = (
        "import pandas as pd, matplotlib.pyplot as plt\n"
        "df = pd.read_csv('sales.csv')\n"
        "df['share'] = df.sales / df.sales.sum()\n"
        "df.to_csv('shares.csv', index=False)\n"
        "df.plot.bar(x='month', y='sales'); plt.show()\n"
    )
    fake.add_turns(
        Turn(tool_calls=[("execute_code", {"code": code})]),
        Turn(tool_calls=[("execute_code", {"code": "print('checking')"})]),
        Turn(text="Done: a chart and shares.csv."),
    )

    report = await evaluate(model_services, admin, suite)

    (run,) = report.runs
    results = {check.check: check for check in run.checks}
    assert results["min_charts"].passed, results["min_charts"].detail
    assert results["output_file"].passed, results["output_file"].detail
    assert not results["max_tool_calls"].passed
    assert results["max_tool_calls"].detail == "expected at most 1 tool call(s), got 2"
    assert run.reasons == ["check_failed:max_tool_calls"]


async def test_two_assistants_get_a_report_each(
    model_services: Services, admin: Principal, fake: FakeLLMServer, tmp_path: Path
) -> None:
    suite = sales_suite(tmp_path, NUMERIC_TOTAL)
    first = await model_services.assistants.create(admin, AssistantCreate(name="first"))
    second = await model_services.assistants.create(
        admin, AssistantCreate(name="second", model="other-model")
    )
    fake.add_turns(Turn(text="@total[33]"), Turn(text="no idea"))
    seen: list[tuple[str, bool | None]] = []

    def on_run(planned: PlannedRun, result: RunResult | None) -> None:
        seen.append((planned.assistant.name, None if result is None else result.passed))

    evaluation = Evaluation(model_services, admin, suite, on_run=on_run)
    chosen = [(a, assistant_info(model_services, a)) for a in (first, second)]
    report = await evaluation.run(chosen, suite.cases)

    assert [r.assistant.title for r in report.assistants] == [
        "first · openai/test-model",
        "second · openai/other-model",
    ]
    assert [r.summary.passed for r in report.assistants] == [1, 0]
    assert seen == [("first", None), ("first", True), ("second", None), ("second", False)]
    document = report.to_json()
    assert [a["assistant"]["name"] for a in document["assistants"]] == ["first", "second"]


async def test_runs_go_side_by_side_with_concurrency_each_in_its_own_conversation(
    model_services: Services, admin: Principal, fake: FakeLLMServer, tmp_path: Path
) -> None:
    suite = sales_suite(tmp_path, NUMERIC_TOTAL)
    fake.add_turns(*[Turn(text="@total[33]") for _ in range(4)])

    report = await evaluate(model_services, admin, suite, repeat=4, concurrency=2)

    assert report.summary.passed == 4
    conversations = {run.conversation_id for run in report.runs}
    assert len(conversations) == 4
    assert None not in conversations
