"""Each tool as the model sees it: what it sends, what comes back."""

from __future__ import annotations

import pytest

from sandbox_analyst.agent import ToolCallEvent, ToolResultEvent
from sandbox_analyst.sandbox.local import LocalSandbox
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.agent.conftest import SALES_CSV, code_call, of_type, run_turn, upload

pytestmark = pytest.mark.asyncio(loop_scope="session")

DONE = Turn(text="Done.")


async def test_preview_file_reports_shape_columns_dtypes_head_and_missing_values(
    make_agent, sandbox: LocalSandbox
) -> None:
    await upload(sandbox, "sales.csv", SALES_CSV, "text/csv")
    agent = make_agent(Turn(tool_calls=[("preview_file", {"path": "sales.csv"})]), DONE)

    (result,) = of_type(await run_turn(agent, "What is in it?"), ToolResultEvent)

    assert result.success
    assert result.code is None
    assert "sales.csv: 4 rows x 3 columns" in result.observation
    assert "region (" in result.observation
    assert "units (float64)" in result.observation
    assert "missing values: units: 1" in result.observation
    assert "south" in result.observation  # a row of the head
    assert result.stdout in result.observation


@pytest.mark.parametrize(
    ("name", "writer"),
    [
        ("table.parquet", "df.to_parquet('table.parquet')"),
        ("table.xlsx", "df.to_excel('table.xlsx', index=False)"),
        ("table.json", "df.to_json('table.json', orient='records')"),
        ("table.tsv", "df.to_csv('table.tsv', sep='\\t', index=False)"),
    ],
)
async def test_preview_file_reads_every_data_format(
    name, writer, make_agent, sandbox: LocalSandbox
) -> None:
    frame = "import pandas as pd\ndf = pd.DataFrame({'city': ['Oslo', 'Lima'], 'n': [3, None]})"
    assert (await sandbox.run_code(f"{frame}\n{writer}")).error is None
    agent = make_agent(Turn(tool_calls=[("preview_file", {"path": name})]), DONE)

    (result,) = of_type(await run_turn(agent, "Preview."), ToolResultEvent)

    assert result.success, result.observation
    assert f"{name}: 2 rows x 2 columns" in result.observation
    assert "missing values: n: 1" in result.observation
    assert "Lima" in result.observation


async def test_preview_of_a_missing_or_unreadable_file_is_a_failed_observation(
    make_agent, sandbox: LocalSandbox
) -> None:
    await upload(sandbox, "notes.txt.parquet", b"not parquet at all", "application/octet-stream")
    agent = make_agent(
        Turn(tool_calls=[("preview_file", {"path": "nope.csv"})]),
        Turn(tool_calls=[("preview_file", {"path": "notes.txt.parquet"})]),
        DONE,
    )

    missing, unreadable = of_type(await run_turn(agent, "Preview."), ToolResultEvent)

    assert not missing.success
    assert missing.error["name"] == "FileNotFoundError"
    assert "list_files" in missing.observation
    assert not unreadable.success
    assert unreadable.error["name"] == "PreviewError"


async def test_list_files_shows_paths_and_sizes_but_not_hidden_files(
    make_agent, sandbox: LocalSandbox
) -> None:
    await upload(sandbox, "sales.csv", SALES_CSV, "text/csv")
    await sandbox.files.write("reports/q1.txt", b"hello")
    await sandbox.files.write(".cache/secret", b"x")
    agent = make_agent(Turn(tool_calls=[("list_files", {})]), DONE)

    (result,) = of_type(await run_turn(agent, "Which files?"), ToolResultEvent)

    assert result.success
    assert f"sales.csv  ({len(SALES_CSV)} bytes)" in result.observation
    assert "reports/\n" in result.observation
    assert "reports/q1.txt  (5 bytes)" in result.observation
    assert ".cache" not in result.observation


async def test_invalid_json_arguments_are_explained_to_the_model(
    make_agent, fake: FakeLLMServer
) -> None:
    agent = make_agent(
        Turn(tool_calls=[("execute_code", '{"code": "print(1)')]),
        code_call("print(1)"),
        DONE,
    )

    events = await run_turn(agent, "Print one.")

    invalid, valid = of_type(events, ToolResultEvent)
    assert not invalid.success
    assert invalid.error["name"] == "InvalidArguments"
    assert "not valid JSON" in invalid.observation
    assert of_type(events, ToolCallEvent)[0].arguments == {}
    assert valid.success
    assert events[-1].status == "complete"
    # The broken call still went back to the server as valid JSON, with its answer.
    resent = fake.model_requests[1].json["messages"]
    assert resent[-2]["tool_calls"][0]["function"]["arguments"] == "{}"
    assert resent[-1]["role"] == "tool"


async def test_unknown_tool_and_missing_code_are_explained_to_the_model(make_agent) -> None:
    agent = make_agent(
        Turn(tool_calls=[("run_sql", {"query": "select 1"}), ("execute_code", {})]),
        DONE,
    )

    events = await run_turn(agent, "Query.")

    unknown, no_code = of_type(events, ToolResultEvent)
    assert unknown.error["name"] == "UnknownTool"
    assert "execute_code, list_files, preview_file" in unknown.observation
    assert no_code.error["name"] == "InvalidArguments"
    assert '"code"' in no_code.observation
    assert [m.role for m in events[-1].messages] == ["assistant", "tool", "tool", "assistant"]


async def test_huge_output_is_truncated_for_the_model_but_kept_whole(make_agent) -> None:
    code = "print('FIRST')\nfor i in range(20000):\n    print('line', i)\nprint('LAST')"
    agent = make_agent(code_call(code), DONE, observation_limit=2000)

    (result,) = of_type(await run_turn(agent, "Print a lot."), ToolResultEvent)

    assert result.stdout.startswith("FIRST\n")
    assert result.stdout.endswith("LAST\n")
    assert "line 19999\n" in result.stdout
    assert len(result.observation) < 2600
    assert "FIRST" in result.observation
    assert "LAST" in result.observation
    assert "characters of stdout cut here" in result.observation


async def test_code_past_its_time_limit_is_interrupted_with_state_kept(make_agent) -> None:
    agent = make_agent(
        code_call("value = 7\nimport time\ntime.sleep(30)"),
        code_call("print(value)"),
        DONE,
        code_timeout=1.0,
    )

    slow, after = of_type(await run_turn(agent, "Sleep."), ToolResultEvent)

    assert slow.error["name"] == "TimeoutError"
    assert "ran longer than 1 s" in slow.observation
    assert after.stdout == "7\n"


async def test_lost_state_is_reported_so_the_model_reloads(make_agent) -> None:
    agent = make_agent(
        code_call("data = [1, 2]\nimport os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
        code_call("print(len(data))"),
        DONE,
    )

    killed, after = of_type(await run_turn(agent, "Crash."), ToolResultEvent)

    assert killed.state_lost
    assert "variables and imports are gone" in killed.observation
    assert after.error["name"] == "NameError"
    assert not after.state_lost
