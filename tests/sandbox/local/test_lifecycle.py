"""The local backend's sessions outlive their worker processes: a worker killed between or
during executions is reported, then replaced; closing ends the worker and removes the workdir."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from sandbox_analyst.sandbox.local import LocalSandbox, SandboxPool

pytestmark = pytest.mark.asyncio(loop_scope="session")


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


async def test_a_worker_dying_mid_execution_is_reported(sandbox: LocalSandbox) -> None:
    execution = await sandbox.run_code("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    assert execution.state_lost
    assert "died while running" in execution.error.value
    assert (await sandbox.run_code("2 + 2")).text == "4"


async def test_close_ends_the_worker_and_removes_the_workdir(pool: SandboxPool) -> None:
    sandbox = await pool.acquire()
    pid, workdir = sandbox.pid, sandbox.files.root
    await sandbox.close()
    await sandbox.close()  # idempotent
    assert sandbox.closed
    assert not workdir.exists()
    await asyncio.sleep(0.2)
    assert _is_gone(pid)


async def test_info_reports_the_worker(sandbox: LocalSandbox) -> None:
    await sandbox.run_code("import numpy as np\nblock = np.ones(10_000_000)")
    info = await sandbox.info()
    assert info.pid == sandbox.pid
    assert info.memory_bytes > 80_000_000
    assert info.cpu_seconds >= 0
    assert info.executions >= 1
    assert info.age_seconds > 0


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


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
async def test_a_worker_killed_by_a_signal_is_reported_with_that_signal(
    sandbox: LocalSandbox, signum: signal.Signals
) -> None:
    execution = await sandbox.run_code(f"import os\nos.kill(os.getpid(), {int(signum)})")
    assert execution.state_lost
    assert f"killed by signal {int(signum)} ({signum.name})" in execution.error.value
    assert "memory" not in execution.error.value  # a signal is not an out-of-memory kill


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
