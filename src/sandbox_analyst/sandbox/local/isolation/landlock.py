"""Landlock: an unprivileged, kernel-enforced allow-list of paths, TCP ports and scopes.

It is stacked on the mount namespace on purpose: the mount namespace decides what exists,
Landlock decides what may be touched, and a bug in one still leaves the other. Rules attach to
inodes, so they hold whichever path (bind mount, symlink, /proc/self/fd) reaches the file.
From ABI 6 Landlock also *scopes* the process: no signals and no abstract unix sockets toward
anything outside its own domain (the server, the zygote, other sessions), while the worker can
still signal its own children, which share its domain.
"""

from __future__ import annotations

import ctypes
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass

from sandbox_analyst.sandbox.local.isolation import libc

_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_RULE_NET_PORT = 2

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2: rename/link between directories
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_FILE_ONLY_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ = EXECUTE | READ_FILE | READ_DIR
READ_WRITE_FILE = READ_FILE | WRITE_FILE | TRUNCATE | IOCTL_DEV


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _NetPortAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64))


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # the kernel struct is __attribute__((packed))
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def abi_version() -> int:
    """The Landlock ABI the running kernel offers; 0 when it has none (or it is disabled)."""
    try:
        return libc.syscall(
            libc.NR_LANDLOCK_CREATE_RULESET,
            None,
            ctypes.c_size_t(0),
            ctypes.c_uint32(_CREATE_RULESET_VERSION),
            what="landlock_create_ruleset",
        )
    except OSError:
        return 0


def handled_fs(abi: int) -> int:
    """Every filesystem right this ABI can restrict; handled and not granted means denied."""
    return _FS_BY_ABI[max(level for level in _FS_BY_ABI if level <= abi)]


@dataclass(frozen=True)
class Ruleset:
    """What one worker may touch; built once in the zygote, enforced in each child."""

    abi: int
    read_paths: tuple[str, ...]
    """Read and execute: system libraries, Python, a few files of /etc."""
    write_paths: tuple[str, ...]
    """Everything: the workdir and the private temporary directories."""
    device_paths: tuple[str, ...]
    """Read and write, e.g. /dev/null."""
    deny_tcp: bool
    scope: bool
    connect_port: int | None = None
    """With `deny_tcp`: the one TCP port connect(2) may still reach (the egress relay's)."""

    def restrict_self(self, opened: dict[str, int] | None = None) -> None:
        """Enforce the rules on this process and its future children, for good.

        `opened` maps paths to descriptors opened earlier (before the process lost the right to
        open them, e.g. /root/.pyenv after dropping root); other paths are opened here. Missing
        paths are skipped: they cannot be reached anyway.
        """
        handled = handled_fs(self.abi)
        net = NET_BIND_TCP | NET_CONNECT_TCP if self.deny_tcp and self.abi >= 4 else 0
        scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if self.scope and self.abi >= 6 else 0
        attr = _RulesetAttr(handled, net, scoped)
        size = 8 if self.abi < 4 else 16 if self.abi < 6 else 24
        ruleset_fd = libc.syscall(
            libc.NR_LANDLOCK_CREATE_RULESET,
            ctypes.byref(attr),
            ctypes.c_size_t(size),
            ctypes.c_uint32(0),
            what="landlock_create_ruleset",
        )
        try:
            for paths, access in (
                (self.read_paths, READ),
                (self.write_paths, handled),
                (self.device_paths, READ_WRITE_FILE),
            ):
                for path in paths:
                    self._allow(ruleset_fd, path, access & handled, opened or {})
            if net and self.connect_port is not None:
                rule = _NetPortAttr(NET_CONNECT_TCP, self.connect_port)
                libc.syscall(
                    libc.NR_LANDLOCK_ADD_RULE,
                    ctypes.c_int(ruleset_fd),
                    ctypes.c_int(_RULE_NET_PORT),
                    ctypes.byref(rule),
                    ctypes.c_uint32(0),
                    what=f"landlock_add_rule tcp connect {self.connect_port}",
                )
            libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1)
            libc.syscall(
                libc.NR_LANDLOCK_RESTRICT_SELF,
                ctypes.c_int(ruleset_fd),
                ctypes.c_uint32(0),
                what="landlock_restrict_self",
            )
        finally:
            os.close(ruleset_fd)

    def paths(self) -> Iterable[str]:
        yield from self.read_paths
        yield from self.write_paths
        yield from self.device_paths

    @staticmethod
    def _allow(ruleset_fd: int, path: str, access: int, opened: dict[str, int]) -> None:
        fd = opened.get(path)
        own = fd is None
        if own:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except FileNotFoundError:
                return
        try:
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                access &= _FILE_ONLY_RIGHTS  # directory rights on a file are EINVAL
            rule = _PathBeneathAttr(access, fd)
            libc.syscall(
                libc.NR_LANDLOCK_ADD_RULE,
                ctypes.c_int(ruleset_fd),
                ctypes.c_int(_RULE_PATH_BENEATH),
                ctypes.byref(rule),
                ctypes.c_uint32(0),
                what=f"landlock_add_rule {path}",
            )
        finally:
            if own:
                os.close(fd)
