"""The coding tools as a task's agent uses them, on a real sandbox: bash, read_file,
write_file, edit_file, glob, grep; paths confined to the workdir; bash asks first when told."""

from __future__ import annotations

import pytest

from sandbox_analyst.agent import ToolResultEvent
from sandbox_analyst.agent.tools import Approval, coding_tools
from sandbox_analyst.agent.tools.coding import MAX_GREP_LINES, glob_pattern
from sandbox_analyst.sandbox.local import LocalSandbox
from sandbox_analyst.testing import Turn
from tests.agent.conftest import of_type, run_turn

pytestmark = pytest.mark.asyncio(loop_scope="session")

DONE = Turn(text="Done.")


async def _results(make_agent, *calls: tuple[str, dict], approve=None) -> list[ToolResultEvent]:
    agent = make_agent(Turn(tool_calls=list(calls)), DONE, tools=coding_tools(approve))
    return of_type(await run_turn(agent, "Do it."), ToolResultEvent)


async def test_bash_runs_in_the_workdir_and_reports_the_exit_code(
    make_agent, sandbox: LocalSandbox
) -> None:
    await sandbox.files.write("notes.txt", b"hello\n")
    ok, failed = await _results(
        make_agent,
        ("bash", {"command": "cat notes.txt && echo to-stderr >&2"}),
        ("bash", {"command": "python -c 'import sys; sys.exit(3)'"}),
    )

    assert ok.success
    assert "hello" in ok.observation
    assert "to-stderr" in ok.observation
    assert "exit code: 0" in ok.observation
    assert not failed.success
    assert "CommandExitError: exit code 3" in failed.observation


async def test_long_output_is_truncated_with_a_note_for_the_model(
    make_agent, sandbox: LocalSandbox
) -> None:
    (result,) = await _results(make_agent, ("bash", {"command": "seq 1 100000"}))

    assert result.success
    assert len(result.observation) < 10_000
    assert "100000" in result.stdout  # the full output stays in the event
    assert "characters of stdout cut here" in result.observation


async def test_write_read_and_edit_a_file(make_agent, sandbox: LocalSandbox) -> None:
    source = "def add(a, b):\n    return a - b\n"
    written, edited, read = await _results(
        make_agent,
        ("write_file", {"path": "pkg/calc.py", "content": source}),
        ("edit_file", {"path": "pkg/calc.py", "old": "a - b", "new": "a + b"}),
        ("read_file", {"path": "pkg/calc.py"}),
    )

    assert written.success
    assert edited.success
    assert read.success
    assert "replaced 1 occurrence in pkg/calc.py (at line 2)" in edited.observation
    assert "return a + b" in read.observation
    assert await sandbox.files.read_bytes("pkg/calc.py") == source.replace("-", "+").encode()


async def test_edit_file_needs_exactly_one_match(make_agent, sandbox: LocalSandbox) -> None:
    await sandbox.files.write("twice.txt", b"x = 1\nx = 1\n")
    none, several, missing = await _results(
        make_agent,
        ("edit_file", {"path": "twice.txt", "old": "y = 2", "new": "y = 3"}),
        ("edit_file", {"path": "twice.txt", "old": "x = 1", "new": "x = 2"}),
        ("edit_file", {"path": "absent.txt", "old": "a", "new": "b"}),
    )

    assert not none.success
    assert "NoMatch" in none.observation
    assert not several.success
    assert "occurs 2 times" in several.observation
    assert not missing.success
    assert "FileNotFoundError" in missing.observation
    assert await sandbox.files.read_bytes("twice.txt") == b"x = 1\nx = 1\n"


@pytest.mark.parametrize("tool", ["read_file", "write_file", "edit_file", "grep"])
@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "a/../../x"])
async def test_paths_outside_the_workdir_are_refused_before_anything_runs(
    tool: str, path: str, make_agent, sandbox: LocalSandbox
) -> None:
    arguments = {
        "read_file": {"path": path},
        "write_file": {"path": path, "content": "owned"},
        "edit_file": {"path": path, "old": "root", "new": "owned"},
        "grep": {"pattern": "root", "path": path},
    }[tool]
    (result,) = await _results(make_agent, (tool, arguments))

    assert not result.success
    assert "InvalidArguments" in result.observation
    assert "working directory" in result.observation
    assert "root:" not in result.observation  # nothing of the real file came back


async def test_glob_matches_across_directories(make_agent, sandbox: LocalSandbox) -> None:
    for path in ("a.py", "src/b.py", "src/deep/c.py", "src/d.txt"):
        await sandbox.files.write(path, b"pass\n")
    top, everywhere, nothing = await _results(
        make_agent,
        ("glob", {"pattern": "*.py"}),
        ("glob", {"pattern": "**/*.py"}),
        ("glob", {"pattern": "*.rs"}),
    )

    assert top.stdout.split("\n") == ["a.py"]
    assert everywhere.stdout.split("\n") == ["a.py", "src/b.py", "src/deep/c.py"]
    assert "no path matches" in nothing.stdout


async def test_glob_patterns_follow_the_shell_rules() -> None:
    assert glob_pattern("[!ab].md").match("c.md")
    assert not glob_pattern("[!ab].md").match("a.md")
    assert not glob_pattern("*.md").match("docs/a.md")
    assert glob_pattern("docs/**").match("docs/a/b.md")
    assert glob_pattern("a[").match("a[")  # an unclosed bracket is a character


async def test_grep_finds_lines_and_reports_a_bad_pattern(
    make_agent, sandbox: LocalSandbox
) -> None:
    await sandbox.files.write("src/app.py", b"import os\ndef main():\n    return 1\n")
    await sandbox.files.write("-weird.txt", b"def inside\n")
    found, none, bad = await _results(
        make_agent,
        ("grep", {"pattern": "^def ", "path": "."}),
        ("grep", {"pattern": "nowhere-to-be-found", "path": "src"}),
        ("grep", {"pattern": "(unclosed", "path": "."}),
    )

    assert found.success
    assert "src/app.py:2:def main():" in found.stdout
    assert "-weird.txt:1:def inside" in found.stdout
    assert none.success
    assert "no match" in none.stdout
    assert not bad.success
    assert "GrepError" in bad.observation


async def test_grep_output_is_bounded(make_agent, sandbox: LocalSandbox) -> None:
    await sandbox.files.write("many.txt", b"match\n" * (MAX_GREP_LINES * 3))
    (result,) = await _results(make_agent, ("grep", {"pattern": "match", "path": "many.txt"}))

    assert result.success
    assert len(result.stdout.splitlines()) == MAX_GREP_LINES
    assert "Only the first" in result.observation


async def test_a_refused_command_does_not_run_and_the_model_is_told(
    make_agent, sandbox: LocalSandbox
) -> None:
    asked: list[str] = []

    async def approve(command: str) -> Approval:
        asked.append(command)
        return Approval(allowed="rm" not in command, reason="no deleting")

    await sandbox.files.write("keep.txt", b"precious\n")
    refused, allowed = await _results(
        make_agent,
        ("bash", {"command": "rm keep.txt"}),
        ("bash", {"command": "echo fine"}),
        approve=approve,
    )

    assert asked == ["rm keep.txt", "echo fine"]
    assert not refused.success
    assert "CommandRefused" in refused.observation
    assert "no deleting" in refused.observation
    assert await sandbox.files.exists("keep.txt")
    assert allowed.success
    assert "fine" in allowed.stdout
