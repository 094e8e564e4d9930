"""Thin ctypes bindings to the Linux calls the isolation layers need.

Python 3.11 has no `os.unshare`, no `mount`, no `prctl`: we call glibc directly. Every wrapper
raises `OSError` with the real errno so callers can tell "not permitted" from "not supported".
"""

from __future__ import annotations

import ctypes
import os
import signal

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.argtypes = [
    ctypes.c_int,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
]
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]

# unshare(2) / clone(2) flags.
CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# mount(2) flags.
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

# mount_setattr(2).
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4

# prctl(2) options.
PR_SET_PDEATHSIG = 1
PR_GET_PDEATHSIG = 2
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2

# The generic syscall numbers shared by x86_64 and aarch64 (both use the same values here).
NR_MOUNT_SETATTR = 442
NR_LANDLOCK_CREATE_RULESET = 444
NR_LANDLOCK_ADD_RULE = 445
NR_LANDLOCK_RESTRICT_SELF = 446

_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def _check(result: int, what: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
    return result


def syscall(number: int, *args: object, what: str) -> int:
    return _check(_libc.syscall(ctypes.c_long(number), *args), what)


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


# Called with the GIL held (PyDLL): the interpreter's fork hooks need it, and so does clone,
# which must not run while another thread of ours could be inside the allocator.
_python = ctypes.pythonapi
_syscall_holding_gil = ctypes.PyDLL(None, use_errno=True).syscall
_syscall_holding_gil.restype = ctypes.c_long


def clone_fork(flags: int, clone_number: int) -> int:
    """fork(2) into new namespaces (`flags`: CLONE_NEW*): 0 in the child, its pid here.

    Like `os.fork()` it runs the interpreter's fork hooks (locks, threads, `os.register_at_fork`
    callbacks). Unlike it, glibc's own fork handling is skipped, so the child's thread
    descriptor keeps its parent's cached thread id: only single-threaded callers may use this,
    and the child must not rely on raise() or pthread_kill() on itself (a child it forks with
    `os.fork()` is a normal process again). `clone_number` is the architecture's clone(2).
    """
    _python.PyOS_BeforeFork()
    pid = _syscall_holding_gil(
        ctypes.c_long(clone_number),
        ctypes.c_ulong(flags | int(signal.SIGCHLD)),  # exit signal: a normal child for wait()
        ctypes.c_void_p(0),  # no new stack: the child continues on a copy of ours, as fork
        ctypes.c_void_p(0),
        ctypes.c_void_p(0),
        ctypes.c_void_p(0),
    )
    errno = ctypes.get_errno()
    if pid == 0:
        _python.PyOS_AfterFork_Child()
        return 0
    _python.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(errno, f"clone: {os.strerror(errno)}")
    return pid


def mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None
) -> None:
    def enc(value: str | None) -> bytes | None:
        return None if value is None else os.fsencode(value)

    result = _libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data))
    _check(result, f"mount {target}")


class _MountAttr(ctypes.Structure):
    _fields_ = (
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    )


def mount_setattr(path: str, *, set_: int = 0, clear: int = 0, recursive: bool = False) -> None:
    """Change flags of a mount (and, with `recursive`, of every mount below it) in one call:
    unlike MS_REMOUNT this reaches submounts such as /proc, /dev and /sys too."""
    attr = _MountAttr(set_, clear, 0, 0)
    syscall(
        NR_MOUNT_SETATTR,
        ctypes.c_int(-100),  # AT_FDCWD
        ctypes.c_char_p(os.fsencode(path)),
        ctypes.c_uint(AT_RECURSIVE if recursive else 0),
        ctypes.byref(attr),
        ctypes.c_size_t(ctypes.sizeof(attr)),
        what=f"mount_setattr {path}",
    )


def shm_private() -> int:
    """A new private SysV shared-memory segment's id (removed at once), or -1."""
    segment = _libc.shmget(0, 4096, 0o600)  # IPC_PRIVATE
    if segment >= 0:
        _libc.shmctl(segment, 0, None)  # IPC_RMID
    return segment


def prctl(option: int, arg2: int = 0, arg3: int = 0) -> int:
    return _check(_libc.prctl(option, arg2, arg3, 0, 0), f"prctl({option})")


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def clear_capabilities() -> None:
    """Drop every capability of this process (effective, permitted, inheritable)."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")
