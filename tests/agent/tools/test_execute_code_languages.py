"""execute_code in another language than Python, as the model sees it: SQL over the workdir's
files, R where the session has it; the language is offered, named and kept with the code."""

from __future__ import annotations

import shutil

import pytest

from sandbox_analyst.agent import ToolResultEvent
from sandbox_analyst.agent.tools import normalise_code
from sandbox_analyst.sandbox.local import LocalSandbox
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.agent.conftest import SALES_CSV, of_type, run_turn, upload

pytestmark = pytest.mark.asyncio(loop_scope="session")

DONE = Turn(text="Done.")
QUERY = "SELECT region, sum(revenue) AS revenue FROM 'sales.csv' GROUP BY 1 ORDER BY 2 DESC"


def sql_call(code: str) -> Turn:
    return Turn(tool_calls=[("execute_code", {"code": code, "language": "sql"})])


async def test_a_sql_call_returns_the_table_and_names_the_language(
    make_agent, sandbox: LocalSandbox, fake: FakeLLMServer
) -> None:
    await upload(sandbox, "sales.csv", SALES_CSV, "text/csv")
    agent = make_agent(sql_call(QUERY), DONE)

    events = await run_turn(agent, "Revenue by region?")

    (result,) = of_type(events, ToolResultEvent)
    assert result.success, result.observation
    assert result.code == f"%%sql\n{QUERY}"  # shown, logged and replayed as an sql cell
    assert "west" in result.observation
    assert "310.75" in result.observation
    assert "Ran as SQL (DuckDB)" in result.observation
    assert "`_sql`" in result.observation
    offered = fake.model_requests[-2].json["tools"][0]["function"]["parameters"]
    assert "sql" in offered["properties"]["language"]["enum"]


async def test_a_long_sql_result_shows_its_first_rows_and_the_total(
    make_agent, sandbox: LocalSandbox
) -> None:
    agent = make_agent(sql_call("SELECT range AS n FROM range(1000)"), DONE)

    (result,) = of_type(await run_turn(agent, "Numbers."), ToolResultEvent)

    assert result.success, result.observation
    assert "[1000 rows x 1 columns]" in result.observation
    assert "500" not in result.observation  # the middle rows are left out
    assert len(result.observation) < 2000


async def test_a_failing_sql_call_shows_duckdbs_error_and_a_repeat_is_noticed(
    make_agent, sandbox: LocalSandbox
) -> None:
    again = sql_call("SELECT *   FROM nowhere\n")
    agent = make_agent(sql_call("SELECT * FROM nowhere"), again, DONE)

    first, second = of_type(await run_turn(agent, "Query."), ToolResultEvent)

    assert not first.success
    assert first.error["name"] == "CatalogException"
    assert "nowhere does not exist" in first.observation
    assert "Traceback" not in first.observation
    assert "failed 2 times" in second.observation


async def test_a_language_the_sandbox_lacks_is_refused_naming_the_choices(
    make_agent, sandbox: LocalSandbox
) -> None:
    call = Turn(tool_calls=[("execute_code", {"code": "puts 1", "language": "ruby"})])
    agent = make_agent(call, DONE)

    (result,) = of_type(await run_turn(agent, "Run."), ToolResultEvent)

    assert not result.success
    assert result.error["name"] == "InvalidArguments"
    assert "python, bash, sql" in result.error["value"]


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
async def test_r_is_offered_where_the_session_has_it_and_its_plot_is_saved(
    make_agent, sandbox: LocalSandbox, fake: FakeLLMServer, sink
) -> None:
    r_call = Turn(tool_calls=[("execute_code", {"code": "plot(1:10)\n2 + 2", "language": "r"})])
    agent = make_agent(r_call, DONE)

    (result,) = of_type(await run_turn(agent, "Plot it in R."), ToolResultEvent)

    assert result.success, result.observation
    assert "[1] 4" in result.observation
    assert "Ran as R" in result.observation
    assert [item.ref.media_type for item in sink.stored.values()] == ["image/png"]
    system = fake.model_requests[-2].json["messages"][0]["content"]
    assert "r (R, its variables persist" in system
    offered = fake.model_requests[-2].json["tools"][0]["function"]["parameters"]
    assert offered["properties"]["language"]["enum"] == ["python", "bash", "sql", "r"]


def test_code_of_other_languages_is_compared_word_by_word_under_its_language() -> None:
    assert normalise_code("SELECT  1\n", "sql") == normalise_code("SELECT 1", "sql")
    assert normalise_code("x <- 1", "r") != normalise_code("x <- 1", "sql")
    assert normalise_code("x = 1  # again") == normalise_code("x=1")
