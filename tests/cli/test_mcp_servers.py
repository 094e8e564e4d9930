"""`analyst mcp-servers add | list | tools | test | disable | enable | rm | log`: the operator's
side of MCP servers. A stdio server's command line is split as a shell would; env and header
values (`-`: read from stdin) are never printed back; a server that cannot be used exits 1 with
the reason; bad options exit 2."""

from __future__ import annotations

import asyncio
import shlex
import sys

import pytest
from typer.testing import CliRunner

from sandbox_analyst.cli import app
from sandbox_analyst.config import Settings
from sandbox_analyst.service import Services
from tests.fixtures.mcp_servers import ROOT

COMMAND = shlex.join([sys.executable, "-m", "tests.fixtures.mcp_tool_server"])


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANALYST_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ANALYST_DATABASE_URL", settings.effective_database_url)
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), input=stdin)

    return invoke


def test_add_list_tools_test_and_remove_a_stdio_server(run) -> None:  # type: ignore[no-untyped-def]
    added = run(
        "mcp-servers", "add", "rates", "--command", COMMAND,
        "--env", f"PYTHONPATH={ROOT}", "--env", "RATES_KEY=-",
        "--description", "exchange rates",
        stdin="key-81d0e2\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "added rates" in added.output
    assert "5 tools: lookup_rate, draw_square, fail, sleep, show_env" in added.output

    listed = run("mcp-servers", "list")
    assert listed.exit_code == 0, listed.output
    assert "rates" in listed.output
    assert "RATES_KEY" in listed.output
    assert "key-81d0e2" not in listed.output

    tools = run("mcp-servers", "tools", "rates")
    assert tools.exit_code == 0, tools.output
    assert "rates/lookup_rate" in tools.output
    assert "The exchange rate of a currency" in tools.output

    tested = run("mcp-servers", "test", "rates")
    assert tested.exit_code == 0, tested.output
    assert tested.output.startswith("ok: 5 tools")

    assert run("mcp-servers", "disable", "rates").exit_code == 0
    assert "│ no " in run("mcp-servers", "list").output
    assert run("mcp-servers", "enable", "rates").exit_code == 0

    removed = run("mcp-servers", "rm", "rates")
    assert removed.exit_code == 0, removed.output
    assert "no MCP servers" in run("mcp-servers", "list").output
    missing = run("mcp-servers", "test", "rates")
    assert missing.exit_code != 0
    assert "no MCP server 'rates'" in missing.output


def test_a_server_that_cannot_start_exits_1_with_the_reason(run) -> None:  # type: ignore[no-untyped-def]
    added = run("mcp-servers", "add", "gone", "--command", "no-such-mcp-command --flag")
    assert added.exit_code == 0, added.output
    assert "cannot list its tools now" in added.output

    tested = run("mcp-servers", "test", "gone")

    assert tested.exit_code == 1
    assert "command not found: no-such-mcp-command" in " ".join(tested.output.split())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["x"], "either command"),
        (["x", "--url", "http://127.0.0.1:1/mcp", "--command", "x"], "either command"),
        (["x", "--url", "http://127.0.0.1:1/mcp", "--header", "Authorization"], "NAME=VALUE"),
        (["x", "--command", "'unclosed"], "--command:"),
        (["1x", "--command", "x"], "name"),
    ],
)
def test_bad_options_exit_2(run, args: list[str], expected: str) -> None:  # type: ignore[no-untyped-def]
    result = run("mcp-servers", "add", *args)

    assert result.exit_code == 2, result.output
    assert expected in result.output


def test_the_log_shows_each_call(run, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    assert (
        run(
            "mcp-servers", "add", "rates", "--command", COMMAND, "--env", f"PYTHONPATH={ROOT}"
        ).exit_code
        == 0
    )

    async def call() -> None:
        async with Services.running(settings) as services:
            turn = await services.mcp_servers.for_turn("someone", None, "conv-1", ["rates/*"])
            await turn.call("mcp__rates__lookup_rate", {"currency": "jpy"})
            await turn.call("mcp__rates__fail", {})

    asyncio.run(call())
    logged = run("mcp-servers", "log", "rates")

    assert logged.exit_code == 0, logged.output
    assert "rates/lookup_rate" in logged.output
    assert "rates/fail" in logged.output
    assert "the rates backend is down" in " ".join(logged.output.replace("│", " ").split())
    as_json = run("mcp-servers", "log", "--json")
    assert '"conversation_id": "conv-1"' in as_json.output
    assert '"owner_id": "someone"' in as_json.output
