"""Memory and CPU use of a worker, read from /proc without asking the (maybe busy) worker."""

from __future__ import annotations

import os
from dataclasses import dataclass

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessStats:
    rss_bytes: int
    cpu_seconds: float


def read_process_stats(pid: int) -> ProcessStats:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            rss_pages = int(statm.read().split()[1])
        with open(f"/proc/{pid}/stat") as stat:
            # The command name may contain spaces and parentheses: split after the last ')'.
            fields = stat.read().rsplit(")", 1)[1].split()
        # Fields 14-17 of stat (utime, stime, cutime, cstime), counted after the name.
        ticks = sum(int(value) for value in fields[11:15])
    except (OSError, IndexError, ValueError):
        return ProcessStats(rss_bytes=0, cpu_seconds=0.0)
    return ProcessStats(rss_bytes=rss_pages * _PAGE, cpu_seconds=ticks / _TICKS)


def unique_set_size(pid: int) -> int:
    """USS: memory only this process holds (private pages), in bytes; 0 if unreadable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            total_kb = 0
            for line in rollup:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total_kb += int(line.split()[1])
        return total_kb * 1024
    except (OSError, ValueError):
        return 0
