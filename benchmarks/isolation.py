"""What the isolation layers cost per worker: time from fork to a confined worker ready to run
code, and the memory of a pid namespace's init, with and without the IPC and pid namespaces.

    uv run python benchmarks/isolation.py [--rounds 40]

Runs in one process that has imported what the zygote preloads (fork cost grows with the
parent's memory), on the layers this host offers. The baseline is the same host's layers minus
the IPC and pid namespaces (what workers had before them), measured in the same run. Prints a
Markdown table with medians, p95 and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox.local.isolation import (
    ChildIsolation,
    IsolationReport,
    IsolationSettings,
    LayerName,
    LayerStatus,
    detect,
)
from sandbox_analyst.sandbox.local.process_stats import unique_set_size


def without(report: IsolationReport, *names: LayerName) -> IsolationReport:
    return IsolationReport(
        tuple(
            dataclasses.replace(layer, status=LayerStatus.UNAVAILABLE)
            if layer.name in names
            else layer
            for layer in report.layers
        )
    )


def confine_once(isolation: ChildIsolation, workdir: Path, session: str) -> tuple[float, int]:
    """Seconds from fork to a confined worker, and the USS of its init (0 without one)."""
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    began = time.perf_counter()
    first = isolation.fork()
    if first == 0:  # pragma: no cover - the worker leaves through os._exit
        try:
            isolation.apply(str(workdir), session)
            os.write(ready_w, b"r")
            os.read(done_r, 1)
        finally:
            os._exit(0)
    os.read(ready_r, 1)
    elapsed = time.perf_counter() - began
    init_uss = unique_set_size(first) if isolation.pid else 0
    os.write(done_w, b"d")
    os.waitpid(first, 0)
    isolation.release(session)
    for fd in (ready_r, ready_w, done_r, done_w):
        os.close(fd)
    return elapsed, init_uss


def measure(isolation: ChildIsolation, rounds: int) -> tuple[list[float], list[int]]:
    times, memory = [], []
    with tempfile.TemporaryDirectory() as root:
        for index in range(rounds):
            workdir = Path(root) / f"w{index}"
            workdir.mkdir()
            elapsed, uss = confine_once(isolation, workdir, f"bench-{os.getpid()}-{index}")
            times.append(elapsed)
            memory.append(uss)
    return times, memory


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    for name in SandboxSettings().preload:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    settings = IsolationSettings()
    report = detect(settings)
    variants = {
        "before: without ipc and pid namespaces": without(report, LayerName.IPC, LayerName.PID),
        "+ ipc namespace": without(report, LayerName.PID),
        "+ ipc and pid namespaces (init + fresh /proc)": report,
    }
    results = {}
    for label, variant in variants.items():
        isolation = ChildIsolation.prepare(settings, variant)
        measure(isolation, 3)  # warm-up: page cache, cgroup parents
        results[label] = measure(isolation, args.rounds)
    baseline = statistics.median(next(iter(results.values()))[0])
    print(
        f"{time.strftime('%Y-%m-%d')} · {platform.node()} · {platform.machine()} · "
        f"Python {platform.python_version()} · {'root' if os.geteuid() == 0 else 'unprivileged'}"
        f" · level {report.level} · {args.rounds} workers each"
    )
    print("| layers | fork → confined, p50 | p95 | ratio | init USS |")
    print("|---|---:|---:|---:|---:|")
    for label, (times, memory) in results.items():
        median = statistics.median(times)
        uss = f"{statistics.median(memory) / 2**20:.1f} MB" if any(memory) else "-"
        print(
            f"| {label} | {median * 1000:.2f} ms | {p95(times) * 1000:.2f} ms | "
            f"{median / baseline:.2f}x | {uss} |"
        )


if __name__ == "__main__":
    main()
