"""The disk quota, enforced while a cell runs.

RLIMIT_FSIZE caps each file, but a loop writing many files (or one growing a directory of
small ones) fills the disk well before the cell ends. Nothing unprivileged gives a directory a
size limit on an ordinary filesystem (quota-sized loop mounts and project quotas need root and
filesystem support; a tmpfs workdir would lose the files with the worker), so the workdir is
measured while the code runs: a bounded walk in a thread, every `disk_check_interval` seconds,
spaced further apart when the workdir is large so that measuring it never takes more than about
a tenth of a core. Past the quota the code is interrupted (its state is kept); if it carries on
regardless, the worker is killed after `interrupt_grace` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass

from sandbox_analyst.sandbox.local.files import LocalFiles
from sandbox_analyst.sandbox.local.spawner import WorkerProcess

_SHARE = 10  # wait at least this many times what a measurement took before the next one


@dataclass(frozen=True)
class QuotaExceeded:
    used: int
    quota: int

    def describe(self) -> str:
        return (
            f"the session's files grew to {self.used / 2**20:.1f} MiB while the code ran, over "
            f"the {self.quota / 2**20:.0f} MiB disk quota"
        )


class DiskWatch:
    def __init__(
        self, files: LocalFiles, worker: WorkerProcess, *, interval: float, grace: float
    ) -> None:
        self.files = files
        self.worker = worker
        self.interval = interval
        self.grace = grace
        self.exceeded: QuotaExceeded | None = None
        self.killed = False
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        # Only a timer at first: most cells end before the first measurement is due, and
        # then the watch costs next to nothing.
        quota = self.files.quota_bytes
        if quota is not None:
            self._timer = asyncio.get_running_loop().call_later(self.interval, self._begin, quota)

    def _begin(self, quota: int) -> None:
        self._timer = None
        self._task = asyncio.get_running_loop().create_task(self._watch(quota))

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self, quota: int) -> None:
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            used = await asyncio.to_thread(self.files.usage_bytes)
            if used > quota:
                break
            await asyncio.sleep(max(self.interval, _SHARE * (loop.time() - began)))
        self.exceeded = QuotaExceeded(used, quota)
        self.worker.signal(signal.SIGINT)
        await asyncio.sleep(self.grace)
        # Still running (else the execution would have ended and cancelled this task).
        self.killed = True
        self.worker.kill()
