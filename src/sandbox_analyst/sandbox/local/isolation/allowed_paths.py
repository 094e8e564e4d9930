"""Which host paths a worker may read: the system, a few files of /etc, and Python itself.

Python's locations are computed from the running interpreter (sys.prefix, sys.base_prefix,
sysconfig, sys.path), never hard-coded: the interpreter may live under /root/.pyenv, the
virtualenv under a CI checkout in /tmp, packages in an editable source tree.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Iterable

SYSTEM_READ = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Only what programs and libraries read at run time; never the whole of /etc, which also holds
# private keys, credentials of services and the like.
ETC_READ = tuple(
    f"/etc/{name}"
    for name in (
        "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "passwd", "group",
        "nsswitch.conf", "hosts", "host.conf", "resolv.conf", "gai.conf", "services",
        "protocols", "mime.types", "mailcap", "ssl", "ca-certificates", "ca-certificates.conf",
        "pki", "alternatives", "os-release", "debian_version", "fonts", "matplotlibrc",
        "locale.alias", "locale.conf", "default/locale", "terminfo", "inputrc", "magic", "R",
    )
)  # fmt: skip
# /proc for /proc/self/* (other processes stay protected by ptrace rules); the CPU topology
# that os.cpu_count(), OpenBLAS and joblib read.
RUNTIME_READ = ("/proc", "/sys/devices/system/cpu")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
# Host directories hidden from every worker by the mount namespace, beyond the configured ones:
# homes (keys, tokens, shell history), sockets of local services (/run: databases, docker,
# D-Bus), service state and logs; the cgroup tree, which names every other session and its
# usage (and which, seen but unreadable under Landlock, makes DuckDB refuse to start: a missing
# tree it handles).
SENSITIVE_DIRS = (
    "/root", "/home", "/run", "/mnt", "/media", "/srv", "/boot", "/var/lib", "/var/log",
    "/var/spool", "/var/mail", "/var/backups", "/var/cache", "/sys/fs/cgroup",
)  # fmt: skip
PRIVATE_TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")


def is_within(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def minimal(paths: Iterable[str]) -> tuple[str, ...]:
    """Sorted, without duplicates and without paths already covered by another one."""
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not any(is_within(path, other) for other in kept):
            kept.append(path)
    return tuple(kept)


def python_paths(hidden: Iterable[str] = ()) -> tuple[str, ...]:
    """The interpreter, its standard library and every import location, resolved.

    Left out: the current directory (`python -m` puts the server's working directory, which may
    hold `analyst.yaml`, first on sys.path) and any entry that contains a hidden path (granting
    it would grant the hidden path too).
    """
    cwd = os.getcwd()
    candidates = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
        *sysconfig.get_paths().values(),
        *(entry for entry in sys.path if entry and os.path.abspath(entry) != cwd),
    }
    hidden_real = [os.path.realpath(path) for path in hidden]
    resolved = []
    for candidate in candidates:
        real = os.path.realpath(candidate)
        if real == "/" or not os.path.exists(real):
            continue
        if any(is_within(secret, real) for secret in hidden_real):
            continue
        resolved.append(real)
    return minimal(resolved)


def existing(paths: Iterable[str]) -> tuple[str, ...]:
    return tuple(path for path in paths if os.path.lexists(path))
