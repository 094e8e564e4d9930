"""Interrupts, timeouts, lost workers, restart, close, info."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from sandbox_analyst.sandbox import (
    LocalSandbox,
    SandboxClosedError,
    SandboxErrorName,
    SandboxPool,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _wait_until_running(sandbox: LocalSandbox, marker: str, code: str):
    started = asyncio.Event()
    task = asyncio.create_task(
        sandbox.run_code(code, on_stdout=lambda text: started.set() if marker in text else None)
    )
    await asyncio.wait_for(started.wait(), 20)
    return task


async def test_interrupt_stops_the_code_and_keeps_state(sandbox: LocalSandbox) -> None:
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
    assert (await sandbox.run_code("kept")).text == "'still here'"
    assert sandbox.generation == 0


async def test_timeout_interrupts_and_the_session_stays_usable(sandbox: LocalSandbox) -> None:
    await sandbox.run_code("counter = 5")
    execution = await sandbox.run_code("while True: pass", timeout=0.5)
    assert execution.error is not None
    assert execution.error.name == SandboxErrorName.TIMEOUT
    assert "0.5 s" in execution.error.value
    assert (await sandbox.run_code("counter + 1")).text == "6"


async def test_code_ignoring_interrupts_is_killed_and_reported(sandbox: LocalSandbox) -> None:
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


async def test_a_killed_worker_is_reported_lost_then_replaced(sandbox: LocalSandbox) -> None:
    await sandbox.run_code("x = 1")
    os.kill(sandbox.pid, signal.SIGKILL)
    await asyncio.sleep(0.2)
    reported = await sandbox.run_code("x")
    assert reported.state_lost
    assert "SIGKILL" in reported.error.value
    fresh = await sandbox.run_code("'x' in globals(), 1 + 1")
    assert fresh.error is None
    assert fresh.text == "(False, 2)"


async def test_a_worker_killed_just_before_a_run_is_reported_lost(sandbox: LocalSandbox) -> None:
    """The kill lands before the event loop has noticed the channel close: writing the code
    to the dead worker fails (reset / broken pipe), and that too means "worker lost"."""
    await sandbox.run_code("x = 1")
    os.kill(sandbox.pid, signal.SIGKILL)
    _block_until_gone(sandbox.pid)  # on purpose without yielding to the event loop
    reported = await sandbox.run_code("x")
    assert reported.state_lost
    assert "SIGKILL" in reported.error.value
    assert (await sandbox.run_code("'x' in globals()")).text == "False"


async def test_a_worker_dying_mid_execution_is_reported(sandbox: LocalSandbox) -> None:
    execution = await sandbox.run_code("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    assert execution.state_lost
    assert "died while running" in execution.error.value
    assert (await sandbox.run_code("2 + 2")).text == "4"


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
async def test_a_worker_killed_by_a_signal_is_reported_with_that_signal(
    sandbox: LocalSandbox, signum: signal.Signals
) -> None:
    execution = await sandbox.run_code(f"import os\nos.kill(os.getpid(), {int(signum)})")
    assert execution.state_lost
    assert f"killed by signal {int(signum)} ({signum.name})" in execution.error.value
    assert "memory" not in execution.error.value  # a signal is not an out-of-memory kill


async def test_cancelling_a_run_interrupts_the_code(sandbox: LocalSandbox) -> None:
    await sandbox.run_code("state = 'kept'")
    task = await _wait_until_running(
        sandbox, "busy", "import time\nprint('busy', flush=True)\ntime.sleep(60)"
    )
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The next execution starts cleanly, with state intact.
    execution = await asyncio.wait_for(sandbox.run_code("state"), 20)
    assert execution.text == "'kept'"


async def test_restart_gives_fresh_state_and_keeps_files(sandbox: LocalSandbox) -> None:
    await sandbox.run_code("gone = True\nopen('kept.csv', 'w').write('a,b')")
    await sandbox.restart()
    execution = await sandbox.run_code("import os\n'gone' in globals(), os.path.exists('kept.csv')")
    assert execution.text == "(False, True)"
    assert sandbox.generation == 1


async def test_close_ends_the_worker_and_removes_the_workdir(pool: SandboxPool) -> None:
    sandbox = await pool.acquire()
    pid, workdir = sandbox.pid, sandbox.files.root
    await sandbox.close()
    await sandbox.close()  # idempotent
    assert sandbox.closed
    assert not workdir.exists()
    with pytest.raises(SandboxClosedError):
        await sandbox.run_code("1")
    await asyncio.sleep(0.2)
    assert _is_gone(pid)


async def test_a_very_deep_tree_breaks_nothing_and_goes_with_the_session(pool: SandboxPool) -> None:
    sandbox = await pool.acquire()
    workdir = sandbox.files.root
    made = await sandbox.run_code(
        "import os\n"
        "for _ in range(1100):\n"
        "    os.mkdir('d')\n"
        "    os.chdir('d')\n"
        "open('bottom.txt', 'w').write('x' * 10)\n"
        "os.chdir(os.path.expanduser('~'))"
    )
    assert made.error is None
    assert (await sandbox.run_code("1 + 1")).text == "2"
    assert len(await sandbox.files.list(recursive=True)) >= 64
    await sandbox.close()
    assert not workdir.exists()


async def test_info_reports_the_worker(sandbox: LocalSandbox) -> None:
    await sandbox.run_code("import numpy as np\nblock = np.ones(10_000_000)")
    info = await sandbox.info()
    assert info.pid == sandbox.pid
    assert info.memory_bytes > 80_000_000
    assert info.cpu_seconds >= 0
    assert info.executions >= 1
    assert info.age_seconds > 0


async def test_two_sessions_never_share_variables_or_files(pool: SandboxPool) -> None:
    first, second = await pool.acquire(), await pool.acquire()
    try:
        await first.run_code("secret = 'first'\nopen('mine.txt', 'w').write('first')")
        seen = await second.run_code("import os\n'secret' in globals(), os.listdir('.')")
        assert seen.text == "(False, [])"
        assert first.files.root != second.files.root
    finally:
        await first.close()
        await second.close()


async def test_twenty_concurrent_sessions_each_run_a_pandas_cell(pool: SandboxPool) -> None:
    sandboxes = await asyncio.gather(*(pool.acquire() for _ in range(20)))
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


def _block_until_gone(pid: int) -> None:
    while not _is_gone(pid):
        time.sleep(0.001)


def _is_gone(pid: int) -> bool:
    """True if the process no longer exists or is a zombie awaiting its parent's wait()."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
