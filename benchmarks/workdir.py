"""Workdir walks on a hostile workdir (150,000 files): what the engine's listings and quota
checks cost, and how long they keep the event loop from serving anyone else.

    uv run python benchmarks/workdir.py [--files 150000]

Baseline, measured in the same run: the recursive, on-loop walks the engine used before
(`os.listdir` + `os.stat` per entry for listings, `os.fwalk` for the disk usage). Prints a
Markdown table: wall time of each walk and the longest stall of the event loop during it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import stat
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sandbox_analyst.agent.artifacts import (
    SNAPSHOT_MAX_DEPTH,
    SNAPSHOT_MAX_ENTRIES,
    SNAPSHOT_TIME_LIMIT,
)
from sandbox_analyst.sandbox.local.files import LocalFiles

_TICK = 0.001


def recursive_listing(root: Path) -> int:
    """The listing as it was: recursive, every entry stat'ed, run on the event loop."""

    def scan(fd: int) -> int:
        count = 0
        for name in os.listdir(fd):
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            count += 1
            if stat.S_ISDIR(info.st_mode):
                child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                try:
                    count += scan(child)
                finally:
                    os.close(child)
        return count

    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return scan(fd)
    finally:
        os.close(fd)


def fwalk_usage(root: Path) -> int:
    total = 0
    for _, _, files, dir_fd in os.fwalk(root):
        for name in files:
            with contextlib.suppress(OSError):
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                if stat.S_ISREG(info.st_mode):
                    total += info.st_size
    return total


async def timed(action: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """(wall seconds of `action`, the longest gap between two event-loop ticks meanwhile). The
    heartbeat ticks every millisecond: a busy one would compete with the walk's thread."""
    longest = 0.0
    running = True

    async def heartbeat() -> None:
        nonlocal longest
        last = time.perf_counter()
        while running:
            await asyncio.sleep(_TICK)
            now = time.perf_counter()
            longest = max(longest, now - last - _TICK)
            last = now

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0)
    began = time.perf_counter()
    await action()
    elapsed = time.perf_counter() - began
    running = False
    await beat
    return elapsed, longest


def make_workdir(root: Path, count: int) -> None:
    per_directory = 1000
    for index in range(count):
        directory = root / f"part-{index // per_directory:04}"
        if index % per_directory == 0:
            directory.mkdir()
        (directory / f"row-{index:06}.csv").write_bytes(b"a,b\n")


async def run(files: int) -> list[tuple[str, float, float]]:
    with tempfile.TemporaryDirectory() as root:
        workdir = Path(root)
        make_workdir(workdir, files)
        local = LocalFiles(workdir)

        async def on_loop_listing() -> None:
            recursive_listing(workdir)

        async def on_loop_usage() -> None:
            fwalk_usage(workdir)

        async def snapshot() -> None:
            await local.walk(
                max_entries=SNAPSHOT_MAX_ENTRIES,
                max_depth=SNAPSHOT_MAX_DEPTH,
                time_limit=SNAPSHOT_TIME_LIMIT,
            )

        async def full_listing() -> None:
            await local.list(recursive=True)

        async def usage() -> None:
            await asyncio.to_thread(local.usage_bytes)

        cases = [
            ("before: recursive listing on the loop", on_loop_listing),
            ("before: os.fwalk disk usage on the loop", on_loop_usage),
            (f"snapshot walk (≤ {SNAPSHOT_MAX_ENTRIES:,} entries), thread", snapshot),
            ("list(recursive=True) (≤ 100,000 entries), thread", full_listing),
            ("usage_bytes (quota check, unbounded depth), thread", usage),
        ]
        results = []
        for label, action in cases:
            await action()  # warm the dentry cache the same for every case
            elapsed, stall = await timed(action)
            results.append((label, elapsed, stall))
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=150_000)
    args = parser.parse_args()
    results = asyncio.run(run(args.files))
    print(
        f"{time.strftime('%Y-%m-%d')} · {platform.node()} · Python {platform.python_version()}"
        f" · {args.files:,} files in {args.files // 1000 + 1} directories"
    )
    baseline_stall = results[0][2]
    print("| walk | wall time | longest event-loop stall | stall vs before |")
    print("|---|---:|---:|---:|")
    for label, elapsed, stall in results:
        print(
            f"| {label} | {elapsed * 1000:.0f} ms | {stall * 1000:.1f} ms | "
            f"{stall / baseline_stall:.3f}x |"
        )


if __name__ == "__main__":
    main()
