"""`detect`: probe every layer for real, in throwaway child processes, at start-up.

A layer is reported ACTIVE only after a child actually applied it and observed its effect
(a refused connection, a denied read, an EPERM from the filter...). Probes run in forked
children so that the caller is never confined, and one probe's failure cannot hide another.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import shutil
import socket
import tempfile
from collections.abc import Callable

from sandbox_analyst.sandbox.local.isolation import libc, namespaces, pid_namespace
from sandbox_analyst.sandbox.local.isolation.allowed_paths import python_paths
from sandbox_analyst.sandbox.local.isolation.cgroups import CgroupTree
from sandbox_analyst.sandbox.local.isolation.filesystem import MountPlan
from sandbox_analyst.sandbox.local.isolation.landlock import Ruleset, abi_version
from sandbox_analyst.sandbox.local.isolation.privileges import drop_to, forbid_new_privileges
from sandbox_analyst.sandbox.local.isolation.report import IsolationReport, Layer, LayerName
from sandbox_analyst.sandbox.local.isolation.report import LayerStatus as Status
from sandbox_analyst.sandbox.local.isolation.rlimits import apply_rlimits
from sandbox_analyst.sandbox.local.isolation.seccomp import (
    SeccompFilter,
    compile_filter,
    native_arch,
)
from sandbox_analyst.sandbox.local.isolation.settings import IsolationSettings

_USERNS_REMEDY = (
    "run the server as root, or allow unprivileged user namespaces "
    "(sysctl kernel.unprivileged_userns_clone=1; on Ubuntu "
    "kernel.apparmor_restrict_unprivileged_userns=0)"
)


class ProbeFailed(Exception):
    """A probe ran but did not observe the effect its layer promises."""


def detect(settings: IsolationSettings) -> IsolationReport:
    """Which layers hold on this host, for these settings."""
    root = os.geteuid() == 0
    return IsolationReport(
        (
            _network(settings, root),
            _filesystem(settings, root),
            _ipc(root),
            _pid(root),
            _landlock(),
            _landlock_scope(),
            _seccomp(settings),
            _rlimits(settings),
            _cgroups(settings),
            _unprivileged(settings, root),
        )
    )


def _network(settings: IsolationSettings, root: bool) -> Layer:
    name = LayerName.NETWORK
    if settings.allow_network:
        return Layer(name, Status.DISABLED, "allow_network is set: workers share the host network")

    def probe() -> None:
        namespaces.enter(user=not root, network=True)
        with socket.socket() as sock:
            code = sock.connect_ex(("127.0.0.1", 9))
        if code != errno.ENETUNREACH:
            raise ProbeFailed(f"connect to 127.0.0.1 gave {errno.errorcode.get(code, code)}")

    detail = (
        "own network namespace: no interface up, no route anywhere (not even the host's 127.0.0.1)"
    )
    if settings.egress:
        detail = (
            "own network namespace: no route anywhere; loopback up for the egress relay alone "
            "(sandbox.egress.allow, through the server's proxy)"
        )
    return _layer(name, probe, detail, _USERNS_REMEDY)


def _filesystem(settings: IsolationSettings, root: bool) -> Layer:
    hidden = tuple(os.path.realpath(path) for path in settings.hidden_paths)
    plan = MountPlan.build(
        hidden=hidden, read_paths=python_paths(hidden), tmpfs_size_mb=settings.disk_quota_mb
    )
    workdir = tempfile.mkdtemp(prefix="analyst-probe-")

    def probe() -> None:
        namespaces.enter(user=not root, network=False)
        visible = plan.apply(workdir)
        with open(os.path.join(visible, "probe"), "w") as file:
            file.write("ok")
        try:
            open("/usr/analyst-probe", "w").close()
        except OSError as exc:
            if exc.errno != errno.EROFS:
                raise
        else:
            raise ProbeFailed("/usr stayed writable")

    try:
        return _layer(
            LayerName.FILESYSTEM,
            probe,
            "own mount namespace: host read-only, homes, /run and hidden paths empty, private "
            f"/tmp, workdir alone writable (at {plan.visible_workdir(workdir)})",
            _USERNS_REMEDY + "; needs Linux >= 5.12 (mount_setattr)",
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _ipc(root: bool) -> Layer:
    def probe() -> None:
        before = os.stat("/proc/self/ns/ipc").st_ino
        namespaces.enter(user=not root, network=False, ipc=True)
        if os.stat("/proc/self/ns/ipc").st_ino == before:
            raise ProbeFailed("still in the host's IPC namespace")
        segment = libc.shm_private()  # and the new namespace works
        if segment < 0:
            raise ProbeFailed("SysV shared memory does not work in the new IPC namespace")

    return _layer(
        LayerName.IPC,
        probe,
        "own IPC namespace: SysV shared memory, semaphores, message queues and POSIX queues "
        "private to the session, gone with it",
        _USERNS_REMEDY + " (without it, seccomp refuses SysV IPC and POSIX queues)",
    )


def _pid(root: bool) -> Layer:
    name = LayerName.PID
    arch = native_arch()
    remedy = _USERNS_REMEDY + "; /proc must not be partly hidden (as some containers do)"
    if arch is None:
        return Layer(name, Status.UNAVAILABLE, "no syscall table for this architecture", remedy)

    def probe() -> None:
        # The zygote watches for its own death through a pidfd (Linux >= 5.3) in the workers.
        os.close(os.pidfd_open(os.getpid()))
        # As a worker gets it: clone into the namespaces, a fresh /proc, a child as pid 2.
        uid, gid = os.geteuid(), os.getegid()
        flags = namespaces.flags(user=not root, network=False, ipc=False) | libc.CLONE_NEWPID
        read_end, write_end = os.pipe()
        init = libc.clone_fork(flags, arch.syscalls["clone"])
        if init == 0:  # pragma: no cover - the probe's init leaves through os._exit
            message = b"ok"
            try:
                if not root:
                    namespaces.map_user(uid, gid)
                libc.mount(None, "/", None, libc.MS_REC | libc.MS_PRIVATE, None)
                pid_namespace.mount_fresh_proc()
                child = os.fork()
                if child == 0:
                    os._exit(0)
                os.waitpid(child, 0)
                pids = sorted(int(entry) for entry in os.listdir("/proc") if entry.isdigit())
                if os.getpid() != 1 or pids != [1]:
                    message = f"/proc still lists other processes ({len(pids)})".encode()
            except BaseException as exc:
                message = f"{type(exc).__name__}: {exc}".encode()
            os.write(write_end, message[:4000])
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            outcome = pipe.read().decode(errors="replace")
        os.waitpid(init, 0)
        if outcome != "ok":
            raise ProbeFailed(outcome or "the probe's init died")

    detail = (
        "own pid namespace and /proc: the session sees its own processes only (no command "
        "lines, status or mounts of the host's)"
    )
    return _layer(name, probe, detail, remedy)


def _landlock() -> Layer:
    name = LayerName.LANDLOCK
    abi = abi_version()
    remedy = "Linux >= 5.13 with landlock in the lsm= boot parameter"
    if abi == 0:
        return Layer(name, Status.UNAVAILABLE, "the kernel offers no Landlock", remedy)

    def probe() -> None:
        Ruleset(abi, (), (), (), deny_tcp=False, scope=False).restrict_self()
        try:
            os.listdir("/")
        except PermissionError:
            return
        raise ProbeFailed("/ stayed readable under an empty ruleset")

    tcp = ", no TCP bind/connect" if abi >= 4 else ""
    detail = f"ABI {abi}: read/execute system and Python paths only, write workdir and /tmp{tcp}"
    return _layer(name, probe, detail, remedy)


def _landlock_scope() -> Layer:
    name = LayerName.LANDLOCK_SCOPE
    abi = abi_version()
    remedy = "Linux >= 6.12 (Landlock ABI 6)"
    if abi < 6:
        return Layer(name, Status.UNAVAILABLE, f"Landlock ABI {abi} has no scoping", remedy)

    def probe() -> None:
        Ruleset(abi, ("/",), (), (), deny_tcp=False, scope=True).restrict_self()
        try:
            os.kill(os.getppid(), 0)
        except PermissionError:
            return
        raise ProbeFailed("the parent process could still be signalled")

    detail = "no signals or abstract unix sockets toward the server, zygote or other sessions"
    return _layer(name, probe, detail, remedy)


def _seccomp(settings: IsolationSettings) -> Layer:
    name = LayerName.SECCOMP
    arch = native_arch()
    remedy = "x86_64 or aarch64 with seccomp filters (CONFIG_SECCOMP_FILTER)"
    if arch is None:
        return Layer(name, Status.UNAVAILABLE, "no syscall table for this architecture", remedy)
    program = SeccompFilter(
        compile_filter(arch, allow_network=settings.allow_network, loopback_stream=settings.egress)
    )

    def probe() -> None:
        forbid_new_privileges()
        program.install()
        try:
            libc.unshare(0)  # harmless and allowed without the filter
        except PermissionError:
            return
        raise ProbeFailed("unshare() still allowed")

    sockets = "inet, " if not settings.allow_network else ""
    if settings.egress and not settings.allow_network:
        sockets = "inet (but TCP streams, for the egress relay), inet6, "
    detail = (
        f"EPERM for {sockets}netlink, packet, vsock sockets, ptrace, mount, namespaces, bpf, "
        "io_uring, keyrings, modules"
    )
    return _layer(name, probe, detail, remedy)


def _rlimits(settings: IsolationSettings) -> Layer:
    def probe() -> None:
        apply_rlimits(settings, limit_processes=False)
        if resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY:
            raise ProbeFailed("RLIMIT_AS not lowered")

    detail = (
        f"address space: {settings.address_space_bytes >> 20} MiB beyond the preloaded "
        f"libraries, files up to "
        f"{settings.disk_quota_mb} MiB, {settings.max_open_files} open files, no core dumps"
    )
    return _layer(LayerName.RLIMITS, probe, detail, "")


def _cgroups(settings: IsolationSettings) -> Layer:
    name = LayerName.CGROUPS
    remedy = "run the server as root (cgroup v1 or v2), or with write access to cgroup v2"
    tree = CgroupTree.discover()
    if tree is None:
        return Layer(name, Status.UNAVAILABLE, "no cgroup hierarchy with memory + pids", remedy)
    session = f"probe-{os.getpid()}"
    try:
        tree.ensure_parents()
    except OSError as exc:
        return Layer(name, Status.UNAVAILABLE, f"cannot create cgroups: {exc}", remedy)

    def probe() -> None:
        tree.join(session, memory_bytes=settings.address_space_bytes, pids=16, cpu_shares=None)

    cpu = f", cpu shares {settings.cpu_shares}" if settings.cpu_shares else ""
    detail = (
        f"cgroup v{tree.version}: memory {settings.memory_limit_mb} MiB and "
        f"{settings.max_processes} processes per session{cpu}"
    )
    try:
        return _layer(name, probe, detail, remedy)
    finally:
        with contextlib.suppress(OSError):
            tree.release(session)


def _unprivileged(settings: IsolationSettings, root: bool) -> Layer:
    name = LayerName.UNPRIVILEGED
    if not root:
        detail = f"the server is unprivileged: workers run as its uid {os.geteuid()}"
        return Layer(name, Status.ACTIVE, detail, "")
    uid = settings.drop_uid

    def probe() -> None:
        drop_to(uid, uid)

    detail = f"workers drop from root to uid/gid {uid} with no supplementary groups"
    return _layer(name, probe, detail, "set sandbox_uid to an existing unprivileged uid")


def _layer(name: str, probe: Callable[[], None], detail: str, remedy: str) -> Layer:
    ok, failure = _in_child(probe)
    if ok:
        return Layer(name, Status.ACTIVE, detail, "")
    return Layer(name, Status.UNAVAILABLE, failure, remedy)


def _in_child(probe: Callable[[], None]) -> tuple[bool, str]:
    """Run `probe` in a forked child; (True, "") if it returned, else (False, why)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which never returns
        try:
            os.close(read_end)
            try:
                probe()
                message = b"ok"
            except BaseException as exc:
                message = f"{type(exc).__name__}: {exc}".encode()
            os.write(write_end, message[:4000])
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 4096):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    message = b"".join(chunks).decode(errors="replace")
    if message == "ok":
        return True, ""
    return False, message or "the probe process died"
