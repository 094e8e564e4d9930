"""`analyst eval`: a suite runs in-process through the real service with the configured model
(the scripted fake), a table per assistant and model, JSON for scripts, the starter suite
built on request, and a bad suite file refused with exit code 2 naming what to fix."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from sandbox_analyst.cli import app
from sandbox_analyst.config import load_settings
from sandbox_analyst.evaluation import JSON_FORMAT
from sandbox_analyst.service import AssistantCreate, Services
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.cli.conftest import use_fake_model
from tests.evaluation.conftest import SALES_CSV, TOTAL_CODE, answering

SUITE = """\
name: sales
cases:
  - id: total-sales
    question: What were the total sales?
    files: [sales.csv]
    checks:
      - {type: numeric, name: total, expected: 33, tolerance: {abs: 0}}
"""


@pytest.fixture
def workdir(
    tmp_path: Path, database_url: str, fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The current directory, holding a one-case suite; settings point at the fake LLM."""
    use_fake_model(monkeypatch, tmp_path / "data", database_url, fake, preload=["pandas"])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sales.csv").write_text(SALES_CSV)
    (tmp_path / "suite.yaml").write_text(SUITE)
    return tmp_path


def evaluate(*arguments: str) -> Result:
    return CliRunner().invoke(app, ["eval", *arguments])


def create_assistants(*specs: AssistantCreate) -> None:
    async def create() -> None:
        async with Services.running(load_settings()) as services:
            admin = await services.users.ensure_local_admin()
            for spec in specs:
                await services.assistants.create(admin, spec)

    asyncio.run(create())


def test_two_assistants_get_a_table_each_and_the_json_file_holds_every_run(
    workdir: Path, fake: FakeLLMServer
) -> None:
    create_assistants(
        AssistantCreate(name="careful"), AssistantCreate(name="sloppy", model="small-model")
    )
    fake.add_turns(
        *answering(TOTAL_CODE, "The total is @total[{value}]."),
        Turn(text="The total is @total[30]."),
    )

    result = evaluate(
        "suite.yaml", "--assistant", "careful", "--assistant", "sloppy", "--json", "out.json"
    )

    assert result.exit_code == 0, result.output  # it ran: a failing case is no failed command
    assert "careful · openai/test-model — suite sales" in result.stdout
    assert "sloppy · openai/small-model — suite sales" in result.stdout
    assert "1/1" in result.stdout
    assert "0/1" in result.stdout
    assert "check_failed:numeric ×1" in result.stdout
    assert "expected @total[33] (±0), got 30" in result.stdout  # why, for people
    document = json.loads((workdir / "out.json").read_text())
    assert document["format"] == JSON_FORMAT
    assert document["suite"] == {"name": "sales", "path": "suite.yaml"}
    assert document["repeat"] == 1
    careful, sloppy = document["assistants"]
    assert careful["assistant"] | {"id": None} == {
        "id": None,
        "name": "careful",
        "provider": "openai",
        "model": "test-model",
    }
    assert set(careful["summary"]) == {
        "runs",
        "passed",
        "pass_rate",
        "interval",
        "median_turns",
        "median_tool_calls",
        "median_tokens",
        "median_wall_s",
        "failures",
    }
    assert careful["summary"]["pass_rate"] == 1.0
    assert careful["cases"][0]["id"] == "total-sales"
    (run,) = careful["runs"]
    assert run["passed"] is True
    assert run["turns"] == 2
    assert run["tool_calls"] == 1
    assert run["tokens"] == 30
    assert run["checks"] == [
        {
            "check": "numeric",
            "label": "numeric @total",
            "passed": True,
            "detail": "got 33, expected @total[33] (±0)",
            "reason": None,
        }
    ]
    assert sloppy["summary"]["failures"] == {"check_failed:numeric": 1}
    assert sloppy["runs"][0]["reasons"] == ["check_failed:numeric"]
    assert sloppy["runs"][0]["checks"][0]["reason"] == "check_failed:numeric"


def test_format_json_prints_only_json_and_fail_under_exits_1(
    workdir: Path, fake: FakeLLMServer
) -> None:
    fake.add_turns(Turn(text="@total[33]"), Turn(error_status=500))

    result = evaluate("suite.yaml", "--repeat", "2", "--format", "json", "--fail-under", "0.9")

    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    (analyst,) = document["assistants"]
    assert analyst["assistant"]["name"] == "Analyst"  # made on first use
    assert analyst["summary"]["passed"] == 1
    assert analyst["summary"]["failures"] == {"error:llm_error": 1}
    assert "is below 90%" in result.stderr


def test_the_starter_suite_is_built_into_a_directory_and_runs_from_there(
    workdir: Path, fake: FakeLLMServer
) -> None:
    built = evaluate("--build-starter", "starter")
    assert built.exit_code == 0, built.output
    suite = workdir / "starter" / "starter.yaml"
    assert suite.is_file()
    assert (workdir / "starter" / "data" / "iris.csv").is_file()
    fake.add_turns(
        *answering(
            "import pandas as pd\nprint('VALUE=', len(pd.read_csv('iris.csv')))",
            "It has @rows[{value}] rows and @columns[5] columns.",
        )
    )

    result = evaluate(str(suite), "--case", "iris-shape")

    assert result.exit_code == 0, result.output
    assert "iris-shape" in result.stdout
    assert "1/1" in result.stdout
    assert "iris-setosa-petal-length" not in result.stdout  # only the case asked for


def test_a_bad_suite_file_is_refused_with_exit_2_naming_the_line_and_case(
    workdir: Path,
) -> None:
    (workdir / "suite.yaml").write_text(SUITE.replace("abs: 0", "abs: -1"))

    result = evaluate("suite.yaml")

    assert result.exit_code == 2
    assert "suite.yaml:7: case 'total-sales', checks[0].tolerance.abs" in result.stderr
    assert "greater than or equal to 0" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "give a suite file, or --suite NAME"),
        (["missing.yaml"], "no such file: missing.yaml"),
        (["--suite", "nope"], "no built-in suite 'nope'"),
        (["suite.yaml", "--case", "nope"], "the suite has no case nope"),
        (["suite.yaml", "--assistant", "nobody"], "no assistant with the id or name 'nobody'"),
    ],
)
def test_bad_arguments_exit_2(workdir: Path, arguments: list[str], message: str) -> None:
    result = evaluate(*arguments)

    assert result.exit_code == 2, result.output
    assert message in result.stderr
