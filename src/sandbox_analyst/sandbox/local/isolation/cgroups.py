"""Per-session cgroups: a hard memory cap for the whole process tree, a pids cap against fork
bombs, and an optional CPU weight. rlimits alone cannot do this: they count per process.

Both hierarchies are supported. cgroup v2 (unified, with memory and pids controllers) is used
when the server may write to it; otherwise cgroup v1 with one directory per controller
(memory, pids, cpu). Sessions live in `<own cgroup>/sandbox-analyst/<session id>` (v1; the
zygote's own cgroup keeps accounting for everything it starts) or
`<v2 root>/sandbox-analyst/<session id>` (v2 forbids processes in inner cgroups, so we cannot
nest below the zygote's own).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass

PARENT_NAME = "sandbox-analyst"
_REQUIRED = ("memory", "pids")


@dataclass(frozen=True)
class CgroupTree:
    version: int
    parents: dict[str, str]
    """Controller -> parent directory of the session cgroups (v2: one entry, key "unified")."""

    @classmethod
    def discover(cls) -> CgroupTree | None:
        """The hierarchy this host offers, or None when neither has memory + pids."""
        mounts = _cgroup_mounts()
        v2 = next((path for kind, path, _ in mounts if kind == "cgroup2"), None)
        if v2 is not None and _v2_controllers(v2) >= {*_REQUIRED}:
            return cls(2, {"unified": os.path.join(v2, PARENT_NAME)})
        own = _own_v1_paths()
        parents: dict[str, str] = {}
        for kind, path, options in mounts:
            if kind != "cgroup":
                continue
            for controller in ("memory", "pids", "cpu"):
                if controller in options and controller not in parents:
                    relative = own.get(controller, "/").lstrip("/")
                    parents[controller] = os.path.join(path, relative, PARENT_NAME)
        if all(controller in parents for controller in _REQUIRED):
            return cls(1, parents)
        return None

    def ensure_parents(self) -> None:
        """Create the parent cgroups (in the zygote, once)."""
        for parent in self.parents.values():
            os.makedirs(parent, exist_ok=True)
        if self.version == 2:
            parent = self.parents["unified"]
            wanted = " ".join(f"+{c}" for c in (*_REQUIRED, "cpu"))
            for directory in (os.path.dirname(parent), parent):
                _write_some(os.path.join(directory, "cgroup.subtree_control"), wanted.split())

    def session_dirs(self, session_id: str) -> dict[str, str]:
        return {key: os.path.join(parent, session_id) for key, parent in self.parents.items()}

    def join(self, session_id: str, *, memory_bytes: int, pids: int, cpu_shares: int | None):
        """Create the session's cgroups, set the limits, and move this process into them."""
        dirs = self.session_dirs(session_id)
        for directory in dirs.values():
            os.makedirs(directory, exist_ok=True)
        if self.version == 2:
            directory = dirs["unified"]
            _write(os.path.join(directory, "memory.max"), str(memory_bytes))
            with contextlib.suppress(FileNotFoundError):  # no swap accounting: nothing to cap
                _write(os.path.join(directory, "memory.swap.max"), "0")
            _write(os.path.join(directory, "pids.max"), str(pids))
            if cpu_shares is not None:
                weight = 1 + ((max(cpu_shares, 2) - 2) * 9999) // 262142
                _write(os.path.join(directory, "cpu.weight"), str(weight))
        else:
            memory = dirs["memory"]
            _write(os.path.join(memory, "memory.limit_in_bytes"), str(memory_bytes))
            with contextlib.suppress(FileNotFoundError, PermissionError):
                _write(os.path.join(memory, "memory.memsw.limit_in_bytes"), str(memory_bytes))
            _write(os.path.join(dirs["pids"], "pids.max"), str(pids))
            if cpu_shares is not None and "cpu" in dirs:
                _write(os.path.join(dirs["cpu"], "cpu.shares"), str(cpu_shares))
        pid = str(os.getpid())
        for directory in dirs.values():
            _write(os.path.join(directory, "cgroup.procs"), pid)

    def oom_kills(self, session_id: str) -> int:
        """The `oom_kill` counter of the session's memory cgroup (v2 `memory.events`, v1
        `memory.oom_control`); 0 when it is gone or the kernel does not count."""
        dirs = self.session_dirs(session_id)
        if self.version == 2:
            path = os.path.join(dirs["unified"], "memory.events")
        else:
            path = os.path.join(dirs["memory"], "memory.oom_control")
        try:
            with open(path) as counters:
                for line in counters:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def release(self, session_id: str, *, timeout: float = 2.0) -> None:
        """Kill whatever is left in the session's cgroups (a daemon that escaped the process
        group) and remove them. Missing directories are fine: release is idempotent."""
        dirs = [d for d in self.session_dirs(session_id).values() if os.path.isdir(d)]
        deadline = time.monotonic() + timeout
        for directory in dirs:
            while True:
                _kill_all(directory)
                try:
                    os.rmdir(directory)
                    break
                except FileNotFoundError:
                    break
                except OSError:  # EBUSY: killed processes still exiting
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)


def _kill_all(directory: str) -> None:
    kill_file = os.path.join(directory, "cgroup.kill")
    if os.path.exists(kill_file):
        with contextlib.suppress(OSError):
            _write(kill_file, "1")
        return
    try:
        with open(os.path.join(directory, "cgroup.procs")) as procs:
            pids = [int(line) for line in procs if line.strip()]
    except FileNotFoundError:
        return
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _write(path: str, value: str) -> None:
    with open(path, "w") as file:
        file.write(value)


def _write_some(path: str, values: list[str]) -> None:
    """Enable what can be enabled: a controller absent from the parent is reported by
    `discover`, not here."""
    for value in values:
        with contextlib.suppress(OSError):
            _write(path, value)


def _cgroup_mounts() -> list[tuple[str, str, set[str]]]:
    found = []
    with open("/proc/self/mounts") as mounts:
        for line in mounts:
            _, path, kind, options, *_ = line.split()
            if kind in ("cgroup", "cgroup2"):
                found.append((kind, path, set(options.split(","))))
    return found


def _v2_controllers(mount: str) -> set[str]:
    try:
        with open(os.path.join(mount, "cgroup.controllers")) as file:
            return set(file.read().split())
    except OSError:
        return set()


def _own_v1_paths() -> dict[str, str]:
    paths: dict[str, str] = {}
    with open("/proc/self/cgroup") as cgroups:
        for line in cgroups:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(","):
                if controller:
                    paths[controller] = path
    return paths
