"""Shell commands in a worker: `bash -c COMMAND` as a child of the worker, so it runs under the
worker's isolation (namespaces, Landlock, seccomp, rlimits, cgroup) in the session's workdir.

The child writes straight to the worker's stdout and stderr pipes, so its output reaches the
server through the same capture (and the same per-execution byte budget) as a cell's. It gets
a process group of its own: an interrupt (a timeout, a cancelled call) kills that whole group,
whatever the command started, and leaves the worker and its variables alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class CommandOutcome:
    exit_code: int | None  # None: it did not finish (interrupted) or could not start
    error: str | None = None


def find_bash() -> str | None:
    return shutil.which("bash", path=os.environ.get("PATH"))


def run_command(
    bash: str | None, command: str, workdir: str, cwd: str | None, env: Mapping[str, str]
) -> CommandOutcome:
    """Run `command` to its end; a KeyboardInterrupt (the server's SIGINT) kills it."""
    if bash is None:
        return CommandOutcome(None, "bash is not installed in this sandbox")
    directory = os.path.normpath(os.path.join(workdir, cwd)) if cwd else workdir
    if not os.path.isdir(directory):
        return CommandOutcome(None, f"no such directory in the workdir: {cwd}")
    try:
        process = subprocess.Popen(
            [bash, "-c", command],
            cwd=directory,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=die_with(os.getpid()),
        )
    except OSError as exc:
        return CommandOutcome(None, f"the command could not start: {exc}")
    try:
        # os.waitpid, not Popen.wait: on KeyboardInterrupt the latter waits another 0.25 s
        # for a child that never got the signal (it is in a process group of its own).
        _pid, status = os.waitpid(process.pid, 0)
    except KeyboardInterrupt:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return CommandOutcome(None, "the command was interrupted and killed")
    process.returncode = os.waitstatus_to_exitcode(status)
    return CommandOutcome(process.returncode)


@contextlib.contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """`env` set in this process for the block, the previous values restored afterwards."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def die_with(worker_pid: int) -> Callable[[], None]:
    def die_with_worker() -> None:
        # In the forked child, before exec: the shell must not outlive a worker killed while
        # it runs (its process group is not the worker's, so the worker's kill misses it).
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != worker_pid:  # the worker died before prctl took effect
            os._exit(1)

    return die_with_worker
