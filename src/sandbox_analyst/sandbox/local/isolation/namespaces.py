"""Network, mount, IPC and pid namespaces, inside a user namespace when the server is not root.

- As root we unshare the network and mount namespaces directly: the mounts are then made by the
  real root of the host (no "locked mount" restrictions) and the worker drops to an
  unprivileged uid afterwards, which also clears every capability.
- Unprivileged, a user namespace comes first: it grants the capabilities needed to own the new
  network and mount namespaces. The worker keeps the server's uid (mapped to itself, so file
  ownership in the workdir reads normally) and its capabilities are cleared once the mounts are
  done. RLIMIT_NPROC then counts this session's processes only.

A fresh network namespace has a single loopback interface, down: no route anywhere, not even to
the host's own 127.0.0.1 services. Abstract unix sockets are per network namespace too.

A fresh IPC namespace has its own SysV shared memory, semaphores and message queues, and its
own POSIX message queues: no session sees another's, and all of them are destroyed with the
namespace, i.e. when the session's last process exits.

A pid namespace cannot be entered by the calling process itself (only its children are born in
it), so it is made by `clone_flags()` at the fork of the worker (see `pid_namespace`); the
other namespaces are then made by the same call.
"""

from __future__ import annotations

import os

from sandbox_analyst.sandbox.local.isolation import libc


def flags(*, user: bool, network: bool, ipc: bool) -> int:
    """The CLONE_NEW* flags of the namespaces a worker gets (the mount namespace always)."""
    chosen = libc.CLONE_NEWNS
    if network:
        chosen |= libc.CLONE_NEWNET
    if ipc:
        chosen |= libc.CLONE_NEWIPC
    if user:
        chosen |= libc.CLONE_NEWUSER
    return chosen


def enter(*, user: bool, network: bool, ipc: bool = False) -> None:
    """Move the calling process into new namespaces."""
    uid, gid = os.geteuid(), os.getegid()
    libc.unshare(flags(user=user, network=network, ipc=ipc))
    if user:
        map_user(uid, gid)


def map_user(uid: int, gid: int) -> None:
    """In a process just put into a new user namespace: map `uid`/`gid` (its ids outside) to
    themselves, the only mapping an unprivileged process may write."""
    # Credential changes made the process non-dumpable, which makes its /proc files root's: the
    # maps below could not be written. It becomes non-dumpable again at the end of `apply`.
    libc.prctl(libc.PR_SET_DUMPABLE, 1)
    _write("/proc/self/setgroups", "deny")  # required before an unprivileged gid_map
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
