"""`ChildIsolation`: everything a freshly forked worker applies to itself, prepared once."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sandbox_analyst.sandbox.errors import IsolationError
from sandbox_analyst.sandbox.local.isolation import libc, namespaces, pid_namespace
from sandbox_analyst.sandbox.local.isolation.allowed_paths import (
    DEVICES,
    ETC_READ,
    RUNTIME_READ,
    SYSTEM_READ,
    existing,
    is_within,
    python_paths,
)
from sandbox_analyst.sandbox.local.isolation.cgroups import CgroupTree
from sandbox_analyst.sandbox.local.isolation.filesystem import MountPlan
from sandbox_analyst.sandbox.local.isolation.landlock import Ruleset, abi_version
from sandbox_analyst.sandbox.local.isolation.loopback import listen_on_loopback
from sandbox_analyst.sandbox.local.isolation.privileges import (
    drop_to,
    forbid_new_privileges,
    parent_death_signal,
    restore_parent_death_signal,
    set_dumpable,
)
from sandbox_analyst.sandbox.local.isolation.report import IsolationReport, LayerName
from sandbox_analyst.sandbox.local.isolation.rlimits import apply_rlimits
from sandbox_analyst.sandbox.local.isolation.seccomp import (
    SeccompFilter,
    compile_filter,
    native_arch,
)
from sandbox_analyst.sandbox.local.isolation.settings import EGRESS_PORT, IsolationSettings


@dataclass(frozen=True)
class Confined:
    """What `ChildIsolation.apply` leaves the worker with."""

    workdir: str
    """Where the workdir is visible inside."""
    host_pid: int
    """The worker's pid as the host sees it (with a pid namespace, not its own getpid())."""
    egress_listener: int | None = None
    """With controlled egress: the relay's listening socket on 127.0.0.1:EGRESS_PORT inside."""


@dataclass(frozen=True)
class ChildIsolation:
    """The isolation of one kind of worker, resolved in the zygote and applied in each child.

    Plain data only (paths, a compiled BPF program, numbers): picklable, cheap to inherit
    through fork, and free of secrets.
    """

    settings: IsolationSettings
    as_root: bool
    drop_privileges: bool
    namespaces: bool
    network: bool
    ipc: bool
    pid: bool
    """A pid namespace (and fresh /proc) per worker: then `fork()` makes the worker's init."""
    host_ids: tuple[int, int]
    """The server's uid and gid, mapped to themselves in a worker's user namespace."""
    clone_number: int | None
    mounts: MountPlan | None
    ruleset: Ruleset | None
    seccomp: SeccompFilter | None
    cgroups: CgroupTree | None

    @classmethod
    def prepare(cls, settings: IsolationSettings, report: IsolationReport) -> ChildIsolation:
        """Resolve paths, compile the seccomp program and create the parent cgroups for the
        layers `report` found ACTIVE (and only those)."""
        active = report.is_active
        hidden = tuple(os.path.realpath(path) for path in settings.hidden_paths)
        extra = existing(os.path.realpath(path) for path in settings.read_paths)
        # Never one that would uncover a hidden directory inside it.
        extra = tuple(p for p in extra if not any(is_within(h, p) for h in hidden))
        interpreter = (*python_paths(hidden), *extra)
        network = active(LayerName.NETWORK)
        if settings.egress and not network:
            # Without its own network namespace a worker allowed inet sockets would have the
            # host's whole network: refuse rather than run open.
            raise IsolationError(
                "controlled egress (sandbox.egress.allow) needs the network namespace layer, "
                "which is not in force here; run `analyst doctor` to see why"
            )
        mounts = None
        if active(LayerName.FILESYSTEM):
            mounts = MountPlan.build(
                hidden=hidden,
                read_paths=interpreter,
                tmpfs_size_mb=settings.disk_quota_mb,
            )
        ruleset = None
        if active(LayerName.LANDLOCK):
            ruleset = Ruleset(
                abi=abi_version(),
                read_paths=(*existing((*SYSTEM_READ, *ETC_READ, *RUNTIME_READ)), *interpreter),
                # Without a mount namespace /tmp is the host's, shared with everyone: not granted.
                write_paths=mounts.private if mounts else (),
                device_paths=existing(DEVICES),
                deny_tcp=not settings.allow_network,
                scope=active(LayerName.LANDLOCK_SCOPE),
                connect_port=EGRESS_PORT if settings.egress else None,
            )
        ipc = active(LayerName.IPC)
        seccomp = None
        arch = native_arch()
        if active(LayerName.SECCOMP) and arch is not None:
            # Without a private IPC namespace, SysV IPC and POSIX queues would be shared with
            # every session and the host: then they are refused instead.
            program = compile_filter(
                arch,
                allow_network=settings.allow_network,
                deny_ipc=not ipc,
                loopback_stream=settings.egress,
            )
            seccomp = SeccompFilter(program)
        cgroups = None
        if active(LayerName.CGROUPS):
            cgroups = CgroupTree.discover()
            if cgroups is not None:
                cgroups.ensure_parents()
        return cls(
            settings=settings,
            as_root=os.geteuid() == 0,
            drop_privileges=os.geteuid() == 0 and active(LayerName.UNPRIVILEGED),
            namespaces=network or mounts is not None or ipc,
            network=network,
            ipc=ipc,
            pid=active(LayerName.PID) and mounts is not None and arch is not None,
            host_ids=(os.geteuid(), os.getegid()),
            clone_number=arch.syscalls["clone"] if arch is not None else None,
            mounts=mounts,
            ruleset=ruleset,
            seccomp=seccomp,
            cgroups=cgroups,
        )

    @property
    def owner(self) -> tuple[int, int] | None:
        """uid/gid the engine must chown the files it writes into the workdir to (None when
        workers keep the server's own uid)."""
        if not self.drop_privileges:
            return None
        uid = self.settings.drop_uid
        return uid, uid

    @property
    def private_tmp(self) -> bool:
        """Whether /tmp inside is private to the worker. When False, the engine should point
        TMPDIR at a directory inside the workdir: the host's /tmp is not writable inside."""
        return self.mounts is not None and "/tmp" in self.mounts.private

    def fork(self) -> int:
        """fork(2) for a worker: 0 in the child, its pid here. With the pid namespace layer
        the child is born in new namespaces (pid and every other one `apply` would make) as
        their pid 1, and `apply` turns it into the session's init. Call it from a
        single-threaded process (the zygote)."""
        if not self.pid or self.clone_number is None:
            return os.fork()
        user = self.namespaces and not self.as_root
        flags = namespaces.flags(user=user, network=self.network, ipc=self.ipc)
        return libc.clone_fork(flags | libc.CLONE_NEWPID, self.clone_number)

    def apply(self, workdir: str, session_id: str, *, exit_report: int | None = None) -> Confined:
        """Confine the calling process (a single-threaded worker just made by `fork()`) for
        good.

        Order matters: cgroups need the host's view and root; namespaces come before the mounts
        they hold; paths are opened before the uid drop that would forbid opening them;
        no_new_privs precedes Landlock and seccomp, and seccomp comes last because it forbids
        the very calls (mount, unshare) the earlier steps make. With a pid namespace, the
        calling process is then the session's init and only the worker it forks returns from
        here; `exit_report` is the pipe on which the init reports the worker's wait status.
        Raises `IsolationError` if any layer fails: never run half-isolated.
        """
        settings = self.settings
        with _step("parent death signal"):
            death_signal = parent_death_signal()
        if self.cgroups is not None:
            with _step("cgroups"):
                self.cgroups.join(
                    session_id,
                    memory_bytes=settings.memory_limit_mb * 1024 * 1024,
                    pids=settings.max_processes,
                    cpu_shares=settings.cpu_shares,
                )
        owner = self.owner
        if owner is not None:
            with _step("workdir owner"):
                os.chown(workdir, *owner)
        if self.pid:  # the namespaces were made by `fork()`
            if not self.as_root:
                with _step("user namespace"):
                    namespaces.map_user(*self.host_ids)
        elif self.namespaces:
            with _step("namespaces"):
                namespaces.enter(user=not self.as_root, network=self.network, ipc=self.ipc)
        host_proc = None
        visible = os.path.realpath(workdir)
        if self.mounts is not None:
            with _step("mount namespace"):
                if self.pid:
                    host_proc = pid_namespace.open_host_proc()
                visible = self.mounts.apply(workdir)
                if self.pid:
                    pid_namespace.mount_fresh_proc()
        listener = None
        if self.settings.egress and self.network:
            with _step("egress relay socket"):
                listener = listen_on_loopback(EGRESS_PORT)
        with _step("rlimits"):
            user_namespace = self.namespaces and not self.as_root
            apply_rlimits(settings, limit_processes=user_namespace)
        opened: dict[str, int] = {}
        ruleset = None
        if self.ruleset is not None:
            ruleset = dataclasses.replace(
                self.ruleset, write_paths=(*self.ruleset.write_paths, visible)
            )
            with _step("landlock paths"):
                opened = _open_existing(ruleset.paths())
        try:
            with _step("privileges"):
                if owner is not None:
                    drop_to(*owner)
                elif user_namespace:
                    libc.clear_capabilities()  # the user namespace's: the mounts are done
                forbid_new_privileges()
            if ruleset is not None:
                with _step("landlock"):
                    ruleset.restrict_self(opened)
        finally:
            for fd in opened.values():
                os.close(fd)
        if self.seccomp is not None:
            with _step("seccomp"):
                self.seccomp.install()
        with _step("dumpable"):
            set_dumpable(False)
            restore_parent_death_signal(death_signal)
        if host_proc is None:
            return Confined(visible, os.getpid(), listener)
        with _step("pid namespace"):
            # The init closes every descriptor but its report pipe: the listener is the
            # worker's alone.
            host_pid = pid_namespace.fork_worker(host_proc, exit_report)
            return Confined(visible, host_pid, listener)

    def oom_kills(self, session_id: str) -> int:
        """How many of the session's processes the kernel killed for memory (0 without
        cgroups, or once they are released)."""
        return self.cgroups.oom_kills(session_id) if self.cgroups is not None else 0

    def release(self, session_id: str) -> None:
        """After the worker exited (in the zygote): kill stragglers, remove its cgroups."""
        if self.cgroups is not None:
            try:
                self.cgroups.release(session_id)
            except OSError as exc:
                raise IsolationError(f"could not remove cgroups of {session_id}: {exc}") from exc


@contextlib.contextmanager
def _step(name: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise IsolationError(f"isolation layer '{name}' failed to apply: {exc}") from exc


def _open_existing(paths: Iterable[str]) -> dict[str, int]:
    opened: dict[str, int] = {}
    for path in paths:
        if path in opened:
            continue
        try:
            opened[path] = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
    return opened
