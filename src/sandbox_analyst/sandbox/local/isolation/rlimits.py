"""Per-process resource limits: cheap, always available, inherited by every child process."""

from __future__ import annotations

import resource

from sandbox_analyst.sandbox.local.isolation.settings import IsolationSettings


def apply_rlimits(settings: IsolationSettings, *, limit_processes: bool) -> None:
    """Lower (never raise) the limits of this process.

    RLIMIT_AS turns a runaway allocation into a `MemoryError` that keeps the session alive (the
    cgroup cap behind it kills). RLIMIT_FSIZE makes an oversized write fail with EFBIG (Python
    ignores SIGXFSZ). RLIMIT_CORE=0: a crash must not dump the worker's memory to disk.
    RLIMIT_NPROC counts processes per uid *per user namespace*, so it is set only when the
    worker has a user namespace of its own, where it counts this session alone.

    The address-space limit is counted on top of what the process has already mapped: a
    zygote with pandas, scipy and scikit-learn preloaded maps ~1.7 GB of address space
    (mostly reservations, ~260 MB resident), so an absolute limit would leave user code a
    fraction of what the setting promises — or kill the worker outright.
    """
    limits = {
        resource.RLIMIT_AS: mapped_bytes() + settings.address_space_bytes,
        resource.RLIMIT_FSIZE: settings.disk_quota_mb * 1024 * 1024,
        resource.RLIMIT_NOFILE: settings.max_open_files,
        resource.RLIMIT_CORE: 0,
    }
    if limit_processes:
        limits[resource.RLIMIT_NPROC] = settings.max_processes
    for kind, wanted in limits.items():
        _, hard = resource.getrlimit(kind)
        value = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(kind, (value, value))


def mapped_bytes() -> int:
    """Address space this process has mapped now (VmSize), in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0
