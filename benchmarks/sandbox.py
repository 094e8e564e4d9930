"""Sandbox engine benchmark: our pre-forked pool against a fresh ipykernel, in one run.

    uv run python benchmarks/sandbox.py [--rounds 30] [--kernel-rounds 5]

Measures, side by side:
1. acquiring a ready session whose first cell can use pandas (pool hand-over) vs starting an
   ipykernel with jupyter_client and importing pandas + matplotlib in it;
2. a trivial round trip (`1+1`) vs the same over the kernel's ZMQ channels;
3. unique memory (USS) per session after a realistic cell vs the same in the kernel.
Prints a Markdown table with medians, p95 and ratios. Isolation is on for our side (as in
production) unless --no-isolation is given.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import start_new_kernel

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox import create_provider
from sandbox_analyst.sandbox.local.process_stats import unique_set_size

PANDAS_CELL = "import pandas as pd, matplotlib\npd.DataFrame({'a': [1, 2]}).shape"
REALISTIC_CELL = """
import numpy as np, pandas as pd, matplotlib.pyplot as plt, io
from sklearn.linear_model import LinearRegression
rng = np.random.default_rng(0)
frame = pd.DataFrame({"group": rng.integers(0, 20, 200_000), "x": rng.normal(size=200_000)})
frame["y"] = 3 * frame["x"] + rng.normal(size=200_000)
summary = frame.groupby("group")["y"].mean()
figure, axes = plt.subplots()
summary.plot.bar(ax=axes)
figure.savefig(io.BytesIO(), format="png")
plt.close(figure)
model = LinearRegression().fit(frame[["x"]], frame["y"])
round(float(model.coef_[0]), 2)
"""


@dataclass
class Timings:
    samples: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def measure_pool(rounds: int, isolation: bool) -> dict[str, object]:
    settings = SandboxSettings(pool_size=2, isolation=isolation)
    with tempfile.TemporaryDirectory() as root:
        async with create_provider(settings, Path(root) / "sandboxes") as provider:
            acquire, first_cell = [], []
            for _ in range(rounds):
                await provider.wait_ready()
                await asyncio.sleep(0.05)  # let the refilled worker settle, as between requests
                began = time.perf_counter()
                sandbox = await provider.create()
                acquired = time.perf_counter()
                execution = await sandbox.run_code(PANDAS_CELL)
                finished = time.perf_counter()
                assert execution.error is None, execution.error
                acquire.append(acquired - began)
                first_cell.append(finished - began)
                await sandbox.close()
            await provider.wait_ready()
            sandbox = await provider.create()
            trips = []
            for _ in range(rounds * 20):
                began = time.perf_counter()
                await sandbox.run_code("1+1")
                trips.append(time.perf_counter() - began)
            execution = await sandbox.run_code(REALISTIC_CELL)
            assert execution.error is None, execution.error
            pid = (await sandbox.info()).pid
            uss = unique_set_size(pid) if pid is not None else 0
            level = (await provider.health()).isolation_level if isolation else "off"
            await sandbox.close()
    return {
        "acquire": Timings(acquire),
        "first_cell": Timings(first_cell),
        "round_trip": Timings(trips),
        "uss": uss,
        "isolation": level,
    }


def measure_kernel(rounds: int) -> dict[str, object]:
    starts, trips, uss = [], [], 0
    for index in range(rounds):
        began = time.perf_counter()
        manager, client = start_new_kernel(kernel_name="python3", stderr=subprocess.DEVNULL)
        try:
            reply = client.execute_interactive(PANDAS_CELL, timeout=60, output_hook=_ignore)
            starts.append(time.perf_counter() - began)
            assert reply["content"]["status"] == "ok"
            if index == rounds - 1:
                for _ in range(rounds * 40):
                    began = time.perf_counter()
                    client.execute_interactive("1+1", timeout=30, output_hook=_ignore)
                    trips.append(time.perf_counter() - began)
                reply = client.execute_interactive(REALISTIC_CELL, timeout=120, output_hook=_ignore)
                assert reply["content"]["status"] == "ok"
                uss = unique_set_size(manager.provisioner.process.pid)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    return {"acquire": Timings(starts), "round_trip": Timings(trips), "uss": uss}


def _ignore(message: dict[str, object]) -> None:
    """Kernel output is not what is measured; keep it off the terminal."""


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def report(ours: dict[str, object], kernel: dict[str, object]) -> str:
    acquire, first, trip = ours["acquire"], ours["first_cell"], ours["round_trip"]
    k_acquire, k_trip = kernel["acquire"], kernel["round_trip"]
    rows = [
        ("measure", "sandbox pool", "fresh ipykernel", "ratio"),
        ("---", "---:", "---:", "---:"),
        (
            "acquire a ready pandas session, p50",
            ms(acquire.p50),
            ms(k_acquire.p50),
            f"{k_acquire.p50 / acquire.p50:,.0f}x faster",
        ),
        ("acquire, p95", ms(acquire.p95), ms(k_acquire.p95), ""),
        (
            "acquire + first pandas cell, p50",
            ms(first.p50),
            ms(k_acquire.p50),
            f"{k_acquire.p50 / first.p50:,.0f}x faster",
        ),
        (
            "round trip `1+1`, p50",
            ms(trip.p50),
            ms(k_trip.p50),
            f"{k_trip.p50 / trip.p50:.1f}x faster",
        ),
        ("round trip, p95", ms(trip.p95), ms(k_trip.p95), ""),
        (
            "USS per session after the realistic cell",
            f"{ours['uss'] / 2**20:.0f} MB",
            f"{kernel['uss'] / 2**20:.0f} MB",
            f"{kernel['uss'] / max(ours['uss'], 1):.1f}x denser",
        ),
    ]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--kernel-rounds", type=int, default=5)
    parser.add_argument("--no-isolation", action="store_true")
    args = parser.parse_args()
    ours = asyncio.run(measure_pool(args.rounds, not args.no_isolation))
    kernel = measure_kernel(args.kernel_rounds)
    print(
        f"{time.strftime('%Y-%m-%d')} · {platform.node()} · {platform.machine()} · "
        f"Python {platform.python_version()} · isolation {ours['isolation']} · "
        f"{args.rounds} acquisitions, {args.kernel_rounds} kernel starts"
    )
    print(report(ours, kernel))


if __name__ == "__main__":
    main()
