"""A seccomp deny-list, assembled by hand as classic BPF and installed with prctl(2).

Why a deny-list and not an allow-list: user code runs the whole scientific Python stack plus
arbitrary subprocesses, whose syscall needs change with every library release; an allow-list
would break them unpredictably. What we deny is the kernel attack surface no analysis needs
(namespaces, mounts, BPF, io_uring, keyrings, module loading, cross-process memory access) and,
above all, every socket family but AF_UNIX. Denied calls fail with EPERM so user code gets a
plain Python `PermissionError` instead of a dead kernel.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct
from dataclasses import dataclass

from sandbox_analyst.sandbox.local.isolation import libc
from sandbox_analyst.sandbox.local.isolation.syscall_numbers import ARCHES, Arch

DENIED_SYSCALLS = (
    # Namespaces and mounts: the way out of every other layer.
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    # Reading or steering other processes.
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp", "process_madvise",
    # Large, bug-prone kernel surfaces no analysis needs.
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "keyctl", "add_key", "request_key", "fanotify_init",
    # File handles bypass path permissions (the classic container escape).
    "open_by_handle_at", "name_to_handle_at",
    # Machine administration.
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
    "swapon", "swapoff", "acct", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "syslog", "quotactl", "quotactl_fd", "sethostname", "setdomainname", "vhangup",
    "lookup_dcookie", "uselib", "iopl", "ioperm",
)  # fmt: skip

# SysV IPC and POSIX message queues: denied only where the worker has no IPC namespace of its
# own, since there they would be shared with every other session and with the host.
IPC_SYSCALLS = (
    "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl", "msgget",
    "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
    "mq_notify", "mq_getsetattr",
)  # fmt: skip

AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10
# Namespace flags of clone(2); CLONE_NEWTIME (0x80) is left out on purpose: in clone(2) that
# bit belongs to the exit-signal byte.
CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
CLONE_NAMESPACE_FLAGS |= 0x20000000 | 0x40000000
TIOCSTI, TIOCLINUX = 0x5412, 0x541C  # inject input into / poke a terminal

_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
# Offsets in struct seccomp_data (little endian: the low half of an argument comes first).
_NR, _ARCH, _ARG0, _ARG1 = 0, 4, 16, 24
# Classic BPF opcodes.
_LD_ABS = 0x20
_JEQ = 0x15
_JGE = 0x35
_JSET = 0x45
_RET = 0x06
_AND = 0x54  # BPF_ALU | BPF_AND | BPF_K
SOCK_STREAM, SOCK_TYPE_MASK = 1, 0xF  # the type argument also carries NONBLOCK/CLOEXEC bits


class _Assembler:
    """Forward-jumping classic BPF with symbolic labels."""

    def __init__(self) -> None:
        self._code: list[tuple[int, int | str, int | str, int]] = []
        self._labels: dict[str, int] = {}

    def label(self, name: str) -> None:
        self._labels[name] = len(self._code)

    def load(self, offset: int) -> None:
        self._code.append((_LD_ABS, 0, 0, offset))

    def jump(self, op: int, k: int, true: int | str = 0, false: int | str = 0) -> None:
        self._code.append((op, true, false, k))

    def mask(self, k: int) -> None:
        self._code.append((_AND, 0, 0, k))

    def ret(self, value: int) -> None:
        self._code.append((_RET, 0, 0, value))

    def assemble(self) -> bytes:
        out = bytearray()
        for index, (code, true, false, k) in enumerate(self._code):
            jt, jf = (self._offset(index, target) for target in (true, false))
            out += struct.pack("<HBBI", code, jt, jf, k)
        return bytes(out)

    def _offset(self, index: int, target: int | str) -> int:
        if isinstance(target, int):
            return target
        offset = self._labels[target] - index - 1
        if not 0 <= offset <= 255:
            raise ValueError(f"BPF jump to {target} out of range ({offset})")
        return offset


def native_arch() -> Arch | None:
    return ARCHES.get(platform.machine())


def compile_filter(
    arch: Arch, *, allow_network: bool, deny_ipc: bool = False, loopback_stream: bool = False
) -> bytes:
    """The filter program as raw `struct sock_filter` records, ready for `install`.

    `loopback_stream` (controlled egress) also allows AF_INET *stream* sockets: in the
    worker's own network namespace they reach its loopback alone, where only the egress relay
    listens (Landlock, where it has network rules, limits connect to that port). Every other
    family and type (IPv6, UDP, raw, netlink, packet) stays refused."""
    asm = _Assembler()
    asm.load(_ARCH)
    # A foreign-ABI syscall (i386 `int 0x80` on x86_64) has other numbers: refuse them all.
    asm.jump(_JEQ, arch.audit_arch, false="deny")
    asm.load(_NR)
    if arch.extra_abi_bit is not None:
        asm.jump(_JGE, arch.extra_abi_bit, true="deny")
    nr = arch.syscalls
    asm.jump(_JEQ, nr["socket"], true="socket")
    asm.jump(_JEQ, nr["clone"], true="clone")
    # glibc falls back to clone(2), whose flags we can inspect, when clone3 says ENOSYS.
    asm.jump(_JEQ, nr["clone3"], true="enosys")
    asm.jump(_JEQ, nr["ioctl"], true="ioctl")
    for name in (*DENIED_SYSCALLS, *(IPC_SYSCALLS if deny_ipc else ())):
        if name in nr:
            asm.jump(_JEQ, nr[name], true="deny")
    asm.label("allow")
    asm.ret(_RET_ALLOW)
    asm.label("deny")
    asm.ret(_RET_ERRNO | errno.EPERM)
    asm.label("enosys")
    asm.ret(_RET_ERRNO | errno.ENOSYS)

    asm.label("socket")
    asm.load(_ARG0)
    families = (AF_UNIX, AF_INET, AF_INET6) if allow_network else (AF_UNIX,)
    for family in families:
        asm.jump(_JEQ, family, true="allow_2")
    if loopback_stream and not allow_network:
        asm.jump(_JEQ, AF_INET, true="inet")
    asm.ret(_RET_ERRNO | errno.EPERM)

    asm.label("clone")
    asm.load(_ARG0)
    asm.jump(_JSET, CLONE_NAMESPACE_FLAGS, true="deny_2")
    asm.ret(_RET_ALLOW)

    asm.label("ioctl")
    asm.load(_ARG1)
    asm.jump(_JEQ, TIOCSTI, true="deny_2")
    asm.jump(_JEQ, TIOCLINUX, true="deny_2")
    # Second copies of the returns: classic BPF jumps only forward.
    asm.label("allow_2")
    asm.ret(_RET_ALLOW)
    asm.label("deny_2")
    asm.ret(_RET_ERRNO | errno.EPERM)
    if loopback_stream and not allow_network:
        asm.label("inet")
        asm.load(_ARG1)
        asm.mask(SOCK_TYPE_MASK)
        asm.jump(_JEQ, SOCK_STREAM, true="allow_3")
        asm.ret(_RET_ERRNO | errno.EPERM)
        asm.label("allow_3")
        asm.ret(_RET_ALLOW)
    return asm.assemble()


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


@dataclass(frozen=True)
class SeccompFilter:
    """A compiled program; `install` is the only work left for the forked child."""

    program: bytes

    def install(self) -> None:
        """Install the filter on this thread for good (no_new_privs must already be set)."""
        buffer = ctypes.create_string_buffer(self.program, len(self.program))
        fprog = _SockFprog(len(self.program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
        libc.prctl(libc.PR_SET_SECCOMP, libc.SECCOMP_MODE_FILTER, ctypes.addressof(fprog))
