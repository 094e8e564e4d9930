"""SDK benchmark: what `async with SandboxManager()` costs on the local pool, up to its first
result, when it must start the pool itself (cold: a script's first manager) and when another
manager of the same event loop keeps the pool running (warm: the managers share it), plus a
trivial `execute_code` round trip in python and in bash. Default settings, isolation on, as a
user runs it; the data directory is a fresh temporary one.

    uv run python benchmarks/sdk.py [--cold 2] [--warm 20] [--trips 200]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

from sandbox_analyst import SandboxManager


async def first_result() -> None:
    async with SandboxManager() as sm:
        result = await sm.execute_code("python", "1 + 1")
        assert result.text == "2", result


async def timed(step: Callable[[], Awaitable[None]], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await step()
        times.append(time.perf_counter() - started)
    return times


async def main(cold_rounds: int, warm_rounds: int, trips: int) -> None:
    cold = await timed(first_result, cold_rounds)
    async with SandboxManager() as resident:
        await resident.provider.wait_ready()
        warm = await timed(first_result, warm_rounds)

        async def python_trip() -> None:
            await resident.execute_code("python", "1")

        async def bash_trip() -> None:
            await resident.execute_code("bash", "true")

        python = await timed(python_trip, trips)
        bash = await timed(bash_trip, trips)

    baseline = statistics.median(cold)
    rows = [
        ("cold: start the pool, first result, close", cold),
        ("warm: shared pool, first result, close", warm),
        ("execute_code('python', '1') round trip", python),
        ("execute_code('bash', 'true') round trip", bash),
    ]
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{'step':<45} {'n':>4} {'median':>10} {'p90':>10} {'vs cold':>9}")
    for name, times in rows:
        median = statistics.median(times)
        p90 = sorted(times)[math.ceil(0.9 * len(times)) - 1]
        print(
            f"{name:<45} {len(times):>4} {median * 1000:>8.1f}ms {p90 * 1000:>8.1f}ms "
            f"{median / baseline:>8.4f}x"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=2)
    parser.add_argument("--warm", type=int, default=20)
    parser.add_argument("--trips", type=int, default=200)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sdk-bench-") as data_dir:
        os.environ["ANALYST_DATA_DIR"] = data_dir
        asyncio.run(main(arguments.cold, arguments.warm, arguments.trips))
