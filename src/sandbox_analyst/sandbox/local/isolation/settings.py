"""What the operator asks of the isolation layer."""

from __future__ import annotations

from dataclasses import dataclass

NOBODY_UID = 65534
EGRESS_PORT = 3128
"""Where the egress relay listens inside each worker's own network namespace."""
MEMORY_FLOOR_MB = 512  # below this numpy/OpenBLAS cannot even be imported (measured)


@dataclass(frozen=True)
class IsolationSettings:
    memory_limit_mb: int = 2048
    """Address space user code may add to what the worker has mapped at start (RLIMIT_AS,
    never below 512 MiB), and the cgroup memory cap."""
    disk_quota_mb: int = 1024
    """RLIMIT_FSIZE and the size of the private /tmp (the engine also checks the workdir size)."""
    max_processes: int = 64
    """cgroup pids.max; RLIMIT_NPROC too where it counts this session only (own user namespace)."""
    max_open_files: int = 1024
    cpu_shares: int | None = None
    """Relative CPU weight per session (cgroup v1 cpu.shares scale, 1024 = default)."""
    allow_network: bool = False
    egress: bool = False
    """Controlled egress: loopback up in the worker's network namespace, a relay listening on
    127.0.0.1:EGRESS_PORT there (its connections handed to the server's egress proxy), and
    user code allowed TCP stream sockets to that port alone (seccomp: AF_INET stream only;
    Landlock: connect to that port only). Needs the network namespace layer."""
    hidden_paths: tuple[str, ...] = ()
    """Host directories that must be unreadable inside (the data dir, the config file dir...)."""
    read_paths: tuple[str, ...] = ()
    """Extra host paths readable (never writable) inside, even within a hidden directory: a
    template's overlay and data. Import paths of the zygote are readable without this."""
    sandbox_uid: int | None = None
    """uid (and gid) workers drop to when the server runs as root; default 65534 (nobody)."""

    @property
    def address_space_bytes(self) -> int:
        return max(self.memory_limit_mb, MEMORY_FLOOR_MB) * 1024 * 1024

    @property
    def drop_uid(self) -> int:
        return NOBODY_UID if self.sandbox_uid is None else self.sandbox_uid
