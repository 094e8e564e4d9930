"""Who the worker runs as, and what the kernel lets others learn about it."""

from __future__ import annotations

import ctypes
import os

from sandbox_analyst.sandbox.local.isolation import libc


def drop_to(uid: int, gid: int) -> None:
    """Become `uid`/`gid` for good (real, effective and saved ids), with no supplementary
    groups. Leaving root clears every capability; the order (groups, gid, then uid) matters
    because only root may change groups."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError(f"still uid {os.geteuid()} after dropping to {uid}")


def forbid_new_privileges() -> None:
    """No setuid binary or file capability may ever give this process tree more rights; also
    what lets an unprivileged process install seccomp and Landlock."""
    libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1)


def set_dumpable(dumpable: bool) -> None:
    """A non-dumpable process has its /proc files owned by root and cannot be ptraced or have
    its memory or environment read by processes of the same uid."""
    libc.prctl(libc.PR_SET_DUMPABLE, int(dumpable))


def harden_current_process() -> None:
    """For the server and the zygote themselves: sandboxes, even if they ran as the same uid,
    may not read /proc/<pid>/environ, mem or fds of these processes, and no core dump of them
    (with whatever secrets they hold) is ever written."""
    set_dumpable(False)


def parent_death_signal() -> int:
    signal = ctypes.c_int(0)
    libc.prctl(libc.PR_GET_PDEATHSIG, ctypes.addressof(signal))
    return signal.value


def restore_parent_death_signal(signal: int) -> None:
    """Credential changes clear PR_SET_PDEATHSIG; put back what the engine had set."""
    if signal:
        libc.prctl(libc.PR_SET_PDEATHSIG, signal)
