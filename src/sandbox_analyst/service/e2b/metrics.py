"""What E2B's `GET /sandboxes/{id}/metrics` reports for a running sandbox: CPU, memory and disk,
as a series of samples (the SDKs' `get_metrics()`; E2B's own VMs are sampled every few seconds).

Here a sample is taken when a client asks, from the session's own accounting (every interpreter
of the sandbox, summed), and the last ones are kept so that the series has a history. CPU is a
percentage of the sandbox's share of the machine since the previous sample, as E2B reports it.
"""

from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from sandbox_analyst.sandbox import Sandbox
from sandbox_analyst.store import utcnow

KEPT_SAMPLES = 120
# Measuring the disk walks the workdir: bounded, so that a sandbox of many files answers fast.
_DISK_WALK_ENTRIES = 20_000
_DISK_WALK_SECONDS = 1.0


@dataclass(frozen=True)
class SandboxLimits:
    """What a sandbox may use, the `*Total` of its metrics."""

    memory_bytes: int
    disk_bytes: int
    cpu_count: int = max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class MetricSample:
    timestamp: datetime
    cpu_count: int
    cpu_used_pct: float
    mem_used: int
    mem_total: int
    disk_used: int
    disk_total: int


class SandboxMetrics:
    """The samples of one sandbox (kept with it, in memory: they end with it)."""

    def __init__(self) -> None:
        self.samples: deque[MetricSample] = deque(maxlen=KEPT_SAMPLES)
        self._last_cpu: tuple[float, float] | None = None  # (cpu seconds, monotonic time)

    async def sample(self, interpreters: list[Sandbox], limits: SandboxLimits) -> MetricSample:
        infos = [await interpreter.info() for interpreter in interpreters]
        cpu_seconds = sum(info.cpu_seconds for info in infos)
        now = time.monotonic()
        if self._last_cpu is None:  # the first sample covers the sandbox's whole life
            since, elapsed = 0.0, max(info.age_seconds for info in infos)
        else:
            since, elapsed = self._last_cpu[0], now - self._last_cpu[1]
        self._last_cpu = (cpu_seconds, now)
        busy = (cpu_seconds - since) / elapsed if elapsed > 0 else 0.0
        sample = MetricSample(
            timestamp=utcnow(),
            cpu_count=limits.cpu_count,
            cpu_used_pct=round(min(100.0, max(0.0, 100.0 * busy / limits.cpu_count)), 2),
            mem_used=sum(info.memory_bytes for info in infos),
            mem_total=limits.memory_bytes,
            disk_used=await _disk_used(interpreters[0]),
            disk_total=limits.disk_bytes,
        )
        self.samples.append(sample)
        return sample

    def between(self, start: datetime | None, end: datetime | None) -> list[MetricSample]:
        return [
            sample
            for sample in self.samples
            if (start is None or sample.timestamp >= start)
            and (end is None or sample.timestamp <= end)
        ]


async def _disk_used(session: Sandbox) -> int:
    listing = await session.files.walk(
        max_entries=_DISK_WALK_ENTRIES, time_limit=_DISK_WALK_SECONDS
    )
    return sum(entry.size for entry in listing.entries if not entry.is_dir)
