"""`analyst task`: the coding agent runs in-process with the configured model (the scripted
fake), its steps stream to the terminal, its files land in `--output`; `--confirm` asks in the
terminal; the exit code says how the task ended."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from sandbox_analyst.cli import app
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.cli.conftest import use_fake_model

CALCULATOR = """\
import sys

a, op, b = float(sys.argv[1]), sys.argv[2], float(sys.argv[3])
ops = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else float("nan")}
result = ops[op]
print(int(result) if result == int(result) else result)
"""
README = "# Calculator\n\n    python calculator.py 2 + 3\n"


@pytest.fixture
def workdir(
    tmp_path: Path, database_url: str, fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The current directory; settings point at the fake LLM; the sandbox preloads nothing."""
    use_fake_model(monkeypatch, tmp_path / "data", database_url, fake, preload=[])
    monkeypatch.chdir(tmp_path)
    return tmp_path


def task(*arguments: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, ["task", *arguments], input=stdin)


def test_the_calculator_task_writes_both_files_and_the_program_works(
    workdir: Path, fake: FakeLLMServer
) -> None:
    fake.add_turns(
        Turn(tool_calls=[("write_file", {"path": "calculator.py", "content": CALCULATOR})]),
        Turn(tool_calls=[("write_file", {"path": "README.md", "content": README})]),
        Turn(tool_calls=[("bash", {"command": "python calculator.py 2 + 3"})]),
        Turn(text="Made calculator.py and README.md; 2 + 3 gives 5."),
    )

    result = task(
        "Create a simple Python calculator: calculator.py and a README.md", "--output", "out"
    )

    assert result.exit_code == 0, result.output
    assert "$ python calculator.py 2 + 3" in result.stdout
    assert "5" in result.stdout
    assert "Made calculator.py and README.md" in result.stdout
    assert "created" in result.stdout
    assert (workdir / "out" / "README.md").read_text() == README
    ran = subprocess.run(
        [sys.executable, "calculator.py", "6", "*", "7"],
        cwd=workdir / "out",
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout.strip() == "42"


def test_confirm_asks_before_each_command_and_a_no_is_told_to_the_model(
    workdir: Path, fake: FakeLLMServer
) -> None:
    (workdir / "data.txt").write_text("keep\n")
    seen: list[str] = []

    def after(body: dict) -> Turn:
        seen.append([m for m in body["messages"] if m["role"] == "tool"][-1]["content"])
        return Turn(text="I left data.txt alone.")

    fake.add_turns(Turn(tool_calls=[("bash", {"command": "rm data.txt"})]), after)

    result = task("Tidy up", "--file", "data.txt", "--confirm", "--output", "out", stdin="n\n")

    assert result.exit_code == 0, result.output
    assert "The agent wants to run: rm data.txt" in result.stdout
    assert "refused" in result.stdout
    assert "CommandRefused" in seen[0]
    assert "No files were created or changed." in result.stdout
    assert not (workdir / "out").exists()


def test_a_changed_input_file_shows_its_diff(workdir: Path, fake: FakeLLMServer) -> None:
    (workdir / "greet.py").write_text("print('helo')\n")
    fake.add_turns(
        Turn(tool_calls=[("edit_file", {"path": "greet.py", "old": "helo", "new": "hello"})]),
        Turn(text="Fixed the typo."),
    )

    result = task("Fix the typo", "-f", "greet.py", "-o", "fixed")

    assert result.exit_code == 0, result.output
    assert "+print('hello')" in result.stdout
    assert (workdir / "fixed" / "greet.py").read_text() == "print('hello')\n"
    assert (workdir / "greet.py").read_text() == "print('helo')\n"  # the input is untouched


def test_a_task_that_runs_out_of_time_exits_1(workdir: Path, fake: FakeLLMServer) -> None:
    fake.add_turns(Turn(tool_calls=[("bash", {"command": "sleep 60"})]))

    result = task("Wait", "--timeout", "2")

    assert result.exit_code == 1, result.output
    assert "timed_out" in result.stdout


def test_bad_arguments_exit_2_and_no_model_exits_3(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = task("Use it", "--file", "absent.csv")
    assert missing.exit_code == 2
    assert "no such file: absent.csv" in missing.stderr

    monkeypatch.setenv("ANALYST_LLM__MODEL", "")
    no_model = task("Do something")
    assert no_model.exit_code == 3, no_model.output
    assert "the task's model cannot be used" in no_model.stderr
