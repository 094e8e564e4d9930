"""Shell in a session: `run_command` and `run_code(language="bash")`, in the workdir, with
their own environment variables, streaming, and a time limit that kills what they started."""

from __future__ import annotations

import asyncio

import pytest

from sandbox_analyst.sandbox import (
    PathEscapeError,
    Sandbox,
    SandboxErrorName,
    SandboxProvider,
    SessionSpec,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

# "gone" once the process whose pid is in the file has exited (a zombie counts as gone).
GONE = (
    "read -r _ _ state _ < /proc/$(cat {pid_file})/stat 2>/dev/null; "
    '[ -z "$state" ] || [ "$state" = Z ] && echo gone || echo running'
)


async def gone(sandbox: Sandbox, pid_file: str) -> bool:
    """Whether that process has exited; a SIGKILL takes effect as the process is next
    scheduled, so a busy machine may need a moment."""
    for _ in range(100):
        check = await sandbox.run_command(GONE.format(pid_file=pid_file))
        if check.stdout == "gone\n":
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_command_gives_its_exit_code_and_output(sandbox: Sandbox) -> None:
    result = await sandbox.run_command("echo out; echo err >&2; exit 3")
    assert result.exit_code == 3
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"
    assert result.error is None


async def test_commands_run_in_the_workdir_and_share_its_files(sandbox: Sandbox) -> None:
    await sandbox.run_code("open('from_python.txt', 'w').write('written by a cell')")
    result = await sandbox.run_command("cat from_python.txt && mkdir -p out && echo hi > out/x")
    assert (result.exit_code, result.stdout) == (0, "written by a cell")
    assert await sandbox.files.read_bytes("out/x") == b"hi\n"
    inside = await sandbox.run_command("cat x && ls", cwd="out")
    assert inside.stdout == "hi\nx\n"


async def test_a_missing_directory_is_an_error_and_escapes_are_refused(sandbox: Sandbox) -> None:
    missing = await sandbox.run_command("true", cwd="no/such/dir")
    assert missing.exit_code is None
    assert "no/such/dir" in missing.error
    with pytest.raises(PathEscapeError):
        await sandbox.run_command("true", cwd="../elsewhere")


async def test_env_vars_reach_the_command_only(sandbox: Sandbox) -> None:
    result = await sandbox.run_command("echo $GREETING", env_vars={"GREETING": "hello there"})
    assert result.stdout == "hello there\n"
    assert (await sandbox.run_command("echo ${GREETING:-unset}")).stdout == "unset\n"
    assert (await sandbox.run_code("import os\n'GREETING' in os.environ")).text == "False"


async def test_command_output_streams_while_it_runs(sandbox: Sandbox) -> None:
    seen: list[str] = []
    first_line = asyncio.Event()

    def on_stdout(text: str) -> None:
        seen.append(text)
        first_line.set()

    task = asyncio.create_task(
        sandbox.run_command("echo started; sleep 1.5; echo finished", on_stdout=on_stdout)
    )
    await asyncio.wait_for(first_line.wait(), 20)
    assert not task.done()
    assert seen == ["started\n"]
    result = await task
    assert result.stdout == "started\nfinished\n"


async def test_a_timeout_kills_everything_the_command_started_and_keeps_state(
    sandbox: Sandbox,
) -> None:
    await sandbox.run_code("kept = 'still here'")
    result = await sandbox.run_command(
        "(sleep 60; echo late > late.txt) & echo $! > background.pid; sleep 60; echo finished",
        timeout=0.5,
    )
    assert result.exit_code is None
    assert "time limit" in result.error
    assert "finished" not in result.stdout
    assert await gone(sandbox, "background.pid")
    assert (await sandbox.run_code("kept")).text == "'still here'"
    assert not await sandbox.files.exists("late.txt")


async def test_cancelling_a_command_kills_it(sandbox: Sandbox) -> None:
    started = asyncio.Event()
    task = asyncio.create_task(
        sandbox.run_command(
            "sleep 60 & echo $! > sleeper.pid; echo started; wait",
            on_stdout=lambda _text: started.set(),
        )
    )
    await asyncio.wait_for(started.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await gone(sandbox, "sleeper.pid")


async def test_bash_cells_stream_into_an_execution(sandbox: Sandbox) -> None:
    stdout: list[str] = []
    execution = await sandbox.run_code(
        "echo one; echo two >&2", language="bash", on_stdout=stdout.append
    )
    assert execution.error is None
    assert execution.logs.stdout == stdout == ["one\n"]
    assert execution.logs.stderr == ["two\n"]
    assert execution.peak_memory_bytes is not None


async def test_a_failing_bash_cell_is_an_execution_error(sandbox: Sandbox) -> None:
    errors = []
    execution = await sandbox.run_code(
        "echo partial; exit 7", language="bash", on_error=errors.append
    )
    assert execution.logs.stdout == ["partial\n"]
    assert execution.error is not None
    assert (execution.error.name, execution.error.value) == (
        SandboxErrorName.COMMAND_EXIT,
        "exit code 7",
    )
    assert errors == [execution.error]


async def test_a_bash_cell_past_its_time_limit_is_interrupted(sandbox: Sandbox) -> None:
    await sandbox.run_code("counter = 5")
    execution = await sandbox.run_code(
        "sleep 60", language="bash", env_vars={"X": "1"}, timeout=0.5
    )
    assert execution.error is not None
    assert execution.error.name == SandboxErrorName.TIMEOUT
    assert (await sandbox.run_code("counter + 1")).text == "6"


async def test_session_env_vars_reach_every_cell_and_command(provider: SandboxProvider) -> None:
    sandbox = await provider.create(SessionSpec(env_vars={"DATASET": "sales-2026"}))
    try:
        cell = await sandbox.run_code("import os\nos.environ['DATASET']")
        command = await sandbox.run_command("echo $DATASET")
        overridden = await sandbox.run_command("echo $DATASET", env_vars={"DATASET": "other"})
        assert cell.text == "'sales-2026'"
        assert command.stdout == "sales-2026\n"
        assert overridden.stdout == "other\n"
        await sandbox.restart()  # a fresh interpreter keeps the session's variables
        assert (await sandbox.run_command("echo $DATASET")).stdout == "sales-2026\n"
    finally:
        await sandbox.close()
