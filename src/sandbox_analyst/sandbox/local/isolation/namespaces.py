"""Network and mount namespaces, inside a user namespace when the server is not root.

- As root we unshare the network and mount namespaces directly: the mounts are then made by the
  real root of the host (no "locked mount" restrictions) and the worker drops to an
  unprivileged uid afterwards, which also clears every capability.
- Unprivileged, a user namespace comes first: it grants the capabilities needed to own the new
  network and mount namespaces. The worker keeps the server's uid (mapped to itself, so file
  ownership in the workdir reads normally) and its capabilities are cleared once the mounts are
  done. RLIMIT_NPROC then counts this session's processes only.

A fresh network namespace has a single loopback interface, down: no route anywhere, not even to
the host's own 127.0.0.1 services. Abstract unix sockets are per network namespace too.
"""

from __future__ import annotations

import os

from sandbox_analyst.sandbox.local.isolation import libc


def enter(*, user: bool, network: bool) -> None:
    flags = libc.CLONE_NEWNS
    if network:
        flags |= libc.CLONE_NEWNET
    if not user:
        libc.unshare(flags)
        return
    uid, gid = os.geteuid(), os.getegid()
    libc.unshare(flags | libc.CLONE_NEWUSER)
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
