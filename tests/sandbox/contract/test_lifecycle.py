"""Interrupts, timeouts, code that ignores interrupts, restart, close, info, many sessions."""

from __future__ import annotations

import asyncio

import pytest

from sandbox_analyst.sandbox import (
    Sandbox,
    SandboxClosedError,
    SandboxErrorName,
    SandboxProvider,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _wait_until_running(sandbox: Sandbox, marker: str, code: str):
    started = asyncio.Event()
    task = asyncio.create_task(
        sandbox.run_code(code, on_stdout=lambda text: started.set() if marker in text else None)
    )
    await asyncio.wait_for(started.wait(), 20)
    return task


async def test_interrupt_stops_the_code_and_keeps_state(sandbox: Sandbox) -> None:
    await sandbox.run_code("kept = 'still here'")
    task = await _wait_until_running(
        sandbox,
        "looping",
        "import time\nprint('looping', flush=True)\nwhile True: time.sleep(0.01)",
    )
    await sandbox.interrupt()
    execution = await asyncio.wait_for(task, 20)
    assert execution.error is not None
    assert execution.error.name == "KeyboardInterrupt"
    assert (await sandbox.run_code("(kept,)")).text == "('still here',)"
    assert sandbox.generation == 0


async def test_timeout_interrupts_and_the_session_stays_usable(sandbox: Sandbox) -> None:
    await sandbox.run_code("counter = 5")
    execution = await sandbox.run_code("while True: pass", timeout=0.5)
    assert execution.error is not None
    assert execution.error.name == SandboxErrorName.TIMEOUT
    assert "0.5 s" in execution.error.value
    assert (await sandbox.run_code("counter + 1")).text == "6"


async def test_code_ignoring_interrupts_is_killed_and_reported(sandbox: Sandbox) -> None:
    await sandbox.files.write("survivor.txt", b"files outlive the process")
    await sandbox.run_code("lost_variable = 1")
    execution = await sandbox.run_code(
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "while True: time.sleep(0.05)",
        timeout=0.5,
    )
    assert execution.state_lost
    assert "state lost" in execution.error.value
    assert sandbox.generation == 1
    after = await sandbox.run_code("'lost_variable' in globals()")
    assert after.text == "False"
    assert await sandbox.files.read_bytes("survivor.txt") == b"files outlive the process"


async def test_cancelling_a_run_interrupts_the_code(sandbox: Sandbox) -> None:
    await sandbox.run_code("state = 'kept'")
    task = await _wait_until_running(
        sandbox, "busy", "import time\nprint('busy', flush=True)\ntime.sleep(60)"
    )
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The next execution starts cleanly, with state intact.
    execution = await asyncio.wait_for(sandbox.run_code("(state,)"), 20)
    assert execution.text == "('kept',)"


async def test_a_run_cancelled_while_a_cancelled_one_winds_down_leaves_the_session_usable(
    sandbox: Sandbox,
) -> None:
    slow_to_stop = (
        "import time\nprint('busy', flush=True)\n"
        "try:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    time.sleep(1)\n    raise"
    )
    first = await _wait_until_running(sandbox, "busy", slow_to_stop)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    second = asyncio.create_task(sandbox.run_code("'second'"))
    await asyncio.sleep(0.2)  # it waits for the first to finish stopping
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    execution = await asyncio.wait_for(sandbox.run_code("('third',)"), 20)
    assert execution.text == "('third',)"


async def test_restart_gives_fresh_state_and_keeps_files(sandbox: Sandbox) -> None:
    await sandbox.run_code("gone = True\nopen('kept.csv', 'w').write('a,b')")
    await sandbox.restart()
    execution = await sandbox.run_code("import os\n'gone' in globals(), os.path.exists('kept.csv')")
    assert execution.text == "(False, True)"
    assert sandbox.generation == 1


async def test_two_sessions_never_share_variables_or_files(provider: SandboxProvider) -> None:
    first, second = await provider.create(), await provider.create()
    try:
        await first.run_code("secret = 'first'\nopen('mine.txt', 'w').write('first')")
        seen = await second.run_code("import os\n'secret' in globals(), os.listdir('.')")
        assert seen.text == "(False, [])"
        assert not await second.files.exists("mine.txt")
    finally:
        await first.close()
        await second.close()


async def test_twenty_concurrent_sessions_each_run_a_pandas_cell(provider: SandboxProvider) -> None:
    sandboxes = await asyncio.gather(*(provider.create() for _ in range(20)))
    try:
        code = (
            "import pandas as pd, numpy as np\n"
            "frame = pd.DataFrame({'g': np.arange(20_000) % 7, 'v': np.arange(20_000)})\n"
            "int(frame.groupby('g')['v'].sum().sum())"
        )
        executions = await asyncio.gather(*(sandbox.run_code(code) for sandbox in sandboxes))
        assert [execution.error for execution in executions] == [None] * 20
        assert {execution.text for execution in executions} == {str(sum(range(20_000)))}
    finally:
        await asyncio.gather(*(sandbox.close() for sandbox in sandboxes))


async def test_close_ends_the_session_for_good(provider: SandboxProvider) -> None:
    sandbox = await provider.create()
    await sandbox.close()
    await sandbox.close()  # idempotent
    assert sandbox.closed
    with pytest.raises(SandboxClosedError):
        await sandbox.run_code("1")


async def test_info_reports_the_session(sandbox: Sandbox) -> None:
    await sandbox.run_code("import numpy as np\nblock = np.ones(10_000_000)")
    info = await sandbox.info()
    assert info.sandbox_id == sandbox.sandbox_id
    assert info.memory_bytes > 80_000_000
    assert info.cpu_seconds >= 0
    assert info.executions >= 1
    assert info.age_seconds > 0


async def test_busy_while_code_runs_and_last_used_when_it_ends(sandbox: Sandbox) -> None:
    started = asyncio.Event()
    task = asyncio.create_task(
        sandbox.run_code(
            "import time\nprint('running', flush=True)\ntime.sleep(0.5)",
            on_stdout=lambda _text: started.set(),
        )
    )
    await asyncio.wait_for(started.wait(), 20)
    before = sandbox.last_used
    assert sandbox.busy
    await task
    assert not sandbox.busy
    assert sandbox.last_used > before
