"""The `analyst` root command: every sub-command is reachable, and each one's module is
imported only when that command runs, so that a quick command starts quickly."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from sandbox_analyst.cli import app
from sandbox_analyst.cli.app import (
    COMMAND_MODULES,
    SERVER_ENV,
    _command,
    wants_a_sandbox_at_once,
)

# Libraries that only the server, the database, the LLM SDKs or user code need.
HEAVY = ("pandas", "numpy", "sqlalchemy", "fastapi", "openai", "anthropic", "IPython")


def loaded_after(code: str) -> list[str]:
    """Which of HEAVY a fresh interpreter has imported after running `code`."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_importing_the_cli_imports_no_heavy_library() -> None:
    assert loaded_after("import sandbox_analyst.cli") == []


def test_looking_up_exec_imports_no_server_database_or_llm_library() -> None:
    code = (
        "import typer\nfrom sandbox_analyst.cli import app\n"
        "assert typer.main.get_command(app).get_command(None, 'exec') is not None"
    )
    assert loaded_after(code) == []


def test_the_engine_packages_import_their_names_on_first_use() -> None:
    assert loaded_after("import sandbox_analyst.sandbox, sandbox_analyst.sandbox.local") == []
    assert loaded_after("from sandbox_analyst.sandbox import Execution, SandboxError") == []
    code = "from sandbox_analyst.sandbox.local import SandboxPool\nprint(SandboxPool.__name__)"
    assert loaded_after(code) == []


def test_every_command_module_registers_the_commands_it_is_listed_for() -> None:
    group = typer.main.get_command(app)
    for name in COMMAND_MODULES:
        command = group.get_command(None, name)  # type: ignore[attr-defined]
        assert command is not None, name
        assert command.name == name
    everything = typer.main.get_group(app).commands
    assert set(everything) == set(COMMAND_MODULES)


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    listed = [line.split()[1] for line in result.output.splitlines() if line.startswith("│ ")]
    assert set(COMMAND_MODULES) <= set(listed)


def test_an_unknown_command_is_refused_with_a_message() -> None:
    result = CliRunner().invoke(app, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output


def test_serve_binds_before_importing_the_server_database_or_llm_libraries() -> None:
    code = (
        "import typer\nfrom sandbox_analyst.cli import app\n"
        "assert typer.main.get_command(app).get_command(None, 'serve') is not None"
    )
    assert loaded_after(code) == []


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["exec", "1+1"], "exec"),
        (["--config", "exec.yaml", "exec", "1+1"], "exec"),
        (["--config=analyst.yaml", "chat", "q"], "chat"),
        (["--help"], None),
        ([], None),
    ],
)
def test_the_command_is_known_before_typer_parses_the_arguments(
    argv: list[str], command: str | None
) -> None:
    assert _command(argv) == command


@pytest.mark.parametrize(
    ("argv", "at_once"),
    [
        (["exec", "1+1"], True),
        (["chat", "data.csv", "q"], True),
        (["chat", "--server", "http://127.0.0.1:8000", "q"], False),
        (["chat", "--server=http://127.0.0.1:8000", "q"], False),
        (["serve"], False),
        (["templates", "list"], False),
    ],
)
def test_a_zygote_is_launched_first_for_commands_that_run_code_at_once(
    argv: list[str], at_once: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SERVER_ENV, raising=False)
    assert wants_a_sandbox_at_once(argv) is at_once


def test_chat_against_a_server_named_in_the_environment_launches_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SERVER_ENV, "http://127.0.0.1:8000")
    assert not wants_a_sandbox_at_once(["chat", "q"])
