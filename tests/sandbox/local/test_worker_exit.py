"""How a worker's end is told: the signal by number and name, an OOM kill only when the cgroup
counted one."""

from __future__ import annotations

import faulthandler
import os
import signal

from sandbox_analyst.sandbox.local.worker_exit import WorkerExit


def _status_of_a_child_that(action: str) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child leaves through the signal or _exit
        if action == "segfault":
            faulthandler.disable()  # pytest's would report the "crash" on the terminal
            os.kill(os.getpid(), signal.SIGSEGV)
        elif action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        os._exit(3)
    return os.waitpid(pid, 0)[1]


def test_a_crash_is_named_and_called_a_crash():
    ended = WorkerExit.from_wait_status(_status_of_a_child_that("segfault"))
    assert ended.describe() == "killed by signal 11 (SIGSEGV): the process crashed"


def test_a_sigkill_is_out_of_memory_only_when_the_cgroup_counted_an_oom_kill():
    status = _status_of_a_child_that("kill")
    assert WorkerExit.from_wait_status(status).describe() == "killed by signal 9 (SIGKILL)"
    oom = WorkerExit.from_wait_status(status, oom_kills=1)
    assert oom.oom_killed
    assert "out of memory" in oom.describe(768)
    assert "768 MiB memory limit" in oom.describe(768)


def test_an_exit_code_is_reported_and_survives_the_trip_from_the_zygote():
    ended = WorkerExit.from_wait_status(_status_of_a_child_that("exit"))
    assert ended.describe() == "exited with code 3"
    assert WorkerExit.from_wire(ended.to_wire()) == ended
    assert WorkerExit.from_wire({"signal": "9", "oom_killed": "yes"}) == WorkerExit()
