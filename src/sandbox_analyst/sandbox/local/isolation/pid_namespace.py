"""A pid namespace per session, with its own /proc: the session sees its own processes only.

Without it /proc shows every process of the host: their command lines (with whatever
arguments the server and other services were started with), their status and their mount
tables. With it, /proc (a fresh procfs mounted in the worker's mount namespace) lists the
session's processes alone, and pids of the host mean nothing inside.

How a worker gets there:

1. the zygote creates the worker's first process with `clone(CLONE_NEWPID | the other
   namespaces)` (`libc.clone_fork`): that process is pid 1 of the new namespace, its *init*;
2. the init confines itself as any worker does (cgroups, mounts with the fresh /proc, rlimits,
   uid, Landlock, seccomp), then forks the real worker (pid 2), which inherits all of it;
3. the init stays behind as a reaper, as every pid 1 must: orphans of the session's code are
   re-parented to it and would otherwise stay zombies, filling the session's process quota.
   When the worker exits, the init hands the worker's wait status to the zygote (through a
   pipe: its own exit status could not tell a signal from an exit code) and exits, which makes
   the kernel kill whatever is left in the namespace.

The server needs the worker's pid on the host (to signal it and read its memory and CPU use
from the host's /proc): the worker reads it from the host's procfs through a descriptor opened
before the fresh /proc covered it, and reports it in its `ready` frame.

A pid 1 ignores signals it has no handler for, even SIGTERM; this is why the worker runs as
pid 2, where `os.kill(os.getpid(), signal.SIGTERM)` and every default disposition work as
users expect.
"""

from __future__ import annotations

import contextlib
import os
import struct
from typing import NoReturn

from sandbox_analyst.sandbox.local.isolation import libc

STATUS = struct.Struct("=i")


def open_host_proc() -> int:
    """A descriptor of the host's procfs, to be opened before the fresh /proc is mounted."""
    return os.open("/proc", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


def mount_fresh_proc() -> None:
    """Mount a procfs of the new pid namespace over /proc (in the worker's mount namespace).
    Read-only, like the rest of the view; nosuid, nodev, noexec as the kernel requires of a
    procfs mounted inside a user namespace."""
    flags = libc.MS_RDONLY | libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC
    libc.mount("proc", "/proc", "proc", flags, None)


def fork_worker(host_proc: int, exit_report: int | None) -> int:
    """In the init (pid 1): fork the worker and return, in the worker, its pid on the host.
    The init itself never returns: it reaps until the worker exits, then reports and exits."""
    worker = os.fork()
    if worker == 0:
        try:
            host_pid = int(os.readlink("self", dir_fd=host_proc))
        finally:
            os.close(host_proc)
            if exit_report is not None:
                os.close(exit_report)
        os.setsid()  # its own process group: the server's kill reaches its subprocesses
        libc.prctl(libc.PR_SET_PDEATHSIG, 9)  # SIGKILL; fork cleared what the init had
        return host_pid
    _reap(worker, exit_report)


def _reap(worker: int, exit_report: int | None) -> NoReturn:
    keep = exit_report if exit_report is not None else 2
    os.closerange(3, keep)  # the worker's channel, the host procfs: the worker's alone
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(1)  # cannot happen while the worker lives: it is our child
        if pid == worker:
            if exit_report is not None:
                with contextlib.suppress(OSError):
                    os.write(exit_report, STATUS.pack(status))
            os._exit(0)


def reported_status(exit_report: int) -> int | None:
    """In the zygote, once the init has exited: the worker's wait status, if it was sent."""
    try:
        data = os.read(exit_report, STATUS.size)
    except OSError:
        return None
    return STATUS.unpack(data)[0] if len(data) == STATUS.size else None
