"""Shell code and commands in a gateway session: `bash` run by the kernel in its workdir."""

from __future__ import annotations

import asyncio

import pytest

from sandbox_analyst.sandbox import PathEscapeError
from sandbox_analyst.sandbox.gateway import GatewaySandbox
from sandbox_analyst.sandbox.models import SandboxErrorName

# Prints whether the process whose pid is in FILE is gone (a zombie counts as gone: its
# parent died with it and nothing may have reaped it yet).
PROCESS_STATE = (
    'state=$(cut -d" " -f3 /proc/$(cat {file})/stat 2>/dev/null); '
    'if [ -z "$state" ] || [ "$state" = Z ]; then echo gone; else echo running; fi'
)


async def test_bash_runs_in_the_workdir_and_streams(sandbox: GatewaySandbox) -> None:
    await sandbox.files.write("notes.txt", b"one\ntwo\n")
    seen: list[str] = []
    execution = await sandbox.run_code(
        "wc -l < notes.txt; echo warn >&2", language="bash", on_stdout=seen.append
    )
    assert execution.error is None
    assert "".join(execution.logs.stdout).strip() == "2"
    assert "".join(seen).strip() == "2"
    assert "".join(execution.logs.stderr) == "warn\n"


async def test_a_failing_command_reports_its_exit_code(sandbox: GatewaySandbox) -> None:
    reported = []
    execution = await sandbox.run_code(
        "echo before; exit 3", language="bash", on_error=reported.append
    )
    assert execution.error is not None
    assert (execution.error.name, execution.error.value) == (
        SandboxErrorName.COMMAND_EXIT,
        "exit code 3",
    )
    assert reported == [execution.error]
    assert execution.logs.stdout == ["before\n"]


async def test_env_vars_are_seen_by_one_execution_only(sandbox: GatewaySandbox) -> None:
    python = await sandbox.run_code(
        "import os\nos.environ.get('REPORT_MONTH')", env_vars={"REPORT_MONTH": "2024-05"}
    )
    assert python.text == "'2024-05'"
    shell = await sandbox.run_code(
        'echo "$REPORT_MONTH"', language="bash", env_vars={"REPORT_MONTH": "june"}
    )
    assert "".join(shell.logs.stdout) == "june\n"
    after = await sandbox.run_code("import os\n'REPORT_MONTH' in os.environ")
    assert after.text == "False"


async def test_session_env_vars_last_for_the_session(gateway_provider) -> None:
    from sandbox_analyst.sandbox import SessionSpec

    sandbox = await gateway_provider.create(SessionSpec(env_vars={"TEAM": "finance"}))
    try:
        first = await sandbox.run_code("import os\nos.environ['TEAM']")
        await sandbox.restart()
        second = await sandbox.run_code("import os\nos.environ['TEAM']")
    finally:
        await sandbox.close()
    assert first.text == second.text == "'finance'"


async def test_run_command_returns_exit_code_and_output(sandbox: GatewaySandbox) -> None:
    await sandbox.run_code("import os\nos.makedirs('sub')")
    result = await sandbox.run_command(
        'pwd; echo "$GREETING" >&2; exit 4', cwd="sub", env_vars={"GREETING": "hello"}
    )
    assert result.exit_code == 4
    assert result.stdout.strip().endswith("/sub")
    assert result.stderr == "hello\n"
    assert result.error is None


async def test_run_command_refuses_a_cwd_outside_the_workdir(sandbox: GatewaySandbox) -> None:
    with pytest.raises(PathEscapeError, match=r"'\.\.' is not allowed"):
        await sandbox.run_command("pwd", cwd="../..")


async def test_a_command_past_its_time_limit_is_killed_with_its_children(
    sandbox: GatewaySandbox,
) -> None:
    result = await sandbox.run_command(
        "sleep 300 & echo $! > child.pid; echo started; wait", timeout=2
    )
    assert result.exit_code is None
    assert result.error is not None
    assert "time limit" in result.error
    assert result.stdout == "started\n"
    check = await sandbox.run_command(PROCESS_STATE.format(file="child.pid"))
    assert check.stdout.strip() == "gone"  # the background child died with its group
    assert sandbox.generation == 0


async def test_cancelling_a_command_kills_it(sandbox: GatewaySandbox) -> None:
    started = asyncio.Event()
    running = asyncio.create_task(
        sandbox.run_command(
            "echo $$ > shell.pid; echo go; sleep 300", on_stdout=lambda _text: started.set()
        )
    )
    await asyncio.wait_for(started.wait(), 30)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    check = await sandbox.run_command(PROCESS_STATE.format(file="shell.pid"))
    assert check.stdout.strip() == "gone"
