"""Gateway backend benchmark: sessions on a Jupyter Kernel Gateway against the local pool, in
one run.

    uv run python benchmarks/sandbox_gateway.py [--rounds 5] [--local-rounds 10]
    uv run python benchmarks/sandbox_gateway.py --url http://127.0.0.1:8888 --token T

Without --url it starts a `jupyter kernelgateway` (local kernels) on a free loopback port and
stops it afterwards. Measures, side by side:
1. acquiring a session: the local pool's hand-over; a gateway session on a new kernel (start,
   websocket, bootstrap) and on a kernel the provider started ahead (pool_size > 0), of the
   plain `python3` kernelspec and of ours (which imports the heavy libraries at kernel start);
2. acquire + the first pandas cell (a plain kernel imports pandas then; the local zygote and
   our kernelspec have already);
3. a trivial round trip (`1+1`): our framed socket vs REST-less websocket messages;
4. unique memory (USS) of one session's process after a realistic cell.
Prints a Markdown table with medians, p95 and ratios against the local backend.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from sandbox import PANDAS_CELL, REALISTIC_CELL, Timings  # the local baseline's own workloads
from sandbox_analyst.config import GatewaySettings, SandboxSettings
from sandbox_analyst.sandbox.gateway import GatewayProvider
from sandbox_analyst.sandbox.gateway.kernelspec import write_kernelspec
from sandbox_analyst.sandbox.local import SandboxPool
from sandbox_analyst.sandbox.local.process_stats import unique_set_size

ANALYST_KERNEL = "analyst-python"


@dataclass
class Measured:
    acquire: Timings
    first_cell: Timings
    round_trip: Timings
    uss: int


async def measure_local(rounds: int, trips: int) -> Measured:
    settings = SandboxSettings(pool_size=2)
    with tempfile.TemporaryDirectory() as root:
        async with SandboxPool(settings, Path(root) / "sandboxes") as pool:
            acquire, first = [], []
            for _ in range(rounds):
                await pool.wait_ready()
                await asyncio.sleep(0.05)  # let the refilled worker settle, as between requests
                began = time.perf_counter()
                sandbox = await pool.acquire()
                acquired = time.perf_counter()
                execution = await sandbox.run_code(PANDAS_CELL)
                assert execution.error is None, execution.error
                acquire.append(acquired - began)
                first.append(time.perf_counter() - began)
                await sandbox.close()
            await pool.wait_ready()
            sandbox = await pool.acquire()
            round_trip = await _round_trips(sandbox, trips)
            execution = await sandbox.run_code(REALISTIC_CELL)
            assert execution.error is None, execution.error
            uss = unique_set_size(sandbox.pid)
            await sandbox.close()
    return Measured(Timings(acquire), Timings(first), round_trip, uss)


async def measure_gateway(
    settings: GatewaySettings, rounds: int, trips: int, *, pooled: bool, kernel_name: str
) -> Measured:
    update = {"pool_size": 2 if pooled else 0, "kernel_name": kernel_name}
    gateway = settings.model_copy(update=update)
    provider = GatewayProvider(gateway, SandboxSettings(backend="gateway"))
    async with provider:
        acquire, first = [], []
        for _ in range(rounds):
            await provider.wait_ready()
            began = time.perf_counter()
            sandbox = await provider.create()
            acquired = time.perf_counter()
            execution = await sandbox.run_code(PANDAS_CELL)
            assert execution.error is None, execution.error
            acquire.append(acquired - began)
            first.append(time.perf_counter() - began)
            await sandbox.close()
        await provider.wait_ready()
        sandbox = await provider.create()
        await provider.wait_ready()  # the pool's refill must not compete with what is measured
        round_trip = await _round_trips(sandbox, trips)
        execution = await sandbox.run_code(REALISTIC_CELL)
        assert execution.error is None, execution.error
        info = await sandbox.info()
        uss = unique_set_size(info.pid) if info.pid else 0  # 0: the kernel runs elsewhere
        await sandbox.close()
    return Measured(Timings(acquire), Timings(first), round_trip, uss)


async def _round_trips(sandbox, trips: int) -> Timings:
    samples = []
    for _ in range(trips):
        began = time.perf_counter()
        await sandbox.run_code("1+1")
        samples.append(time.perf_counter() - began)
    return Timings(samples)


def spawn_gateway(root: Path, port: int, token: str) -> subprocess.Popen[bytes]:
    """`jupyter kernelgateway` serving local kernels, ours among them, from `root`."""
    bin_dir = str(Path(sys.executable).parent)
    write_kernelspec(root / "jupyter" / "kernels" / ANALYST_KERNEL, python=sys.executable)
    return subprocess.Popen(
        [
            os.path.join(bin_dir, "jupyter"),
            "kernelgateway",
            "--KernelGatewayApp.ip=127.0.0.1",
            f"--KernelGatewayApp.port={port}",
            f"--KernelGatewayApp.auth_token={token}",
        ],
        cwd=root,
        env={
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
            "JUPYTER_PATH": str(root / "jupyter"),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextlib.asynccontextmanager
async def kernel_gateway(root: Path) -> AsyncIterator[GatewaySettings]:
    """A kernel gateway on a free loopback port, stopped afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = os.urandom(12).hex()
    process = spawn_gateway(root, port, token)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(headers={"Authorization": f"token {token}"}) as client:
            for _ in range(600):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{url}/api/kernelspecs")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the kernel gateway did not start")
        yield GatewaySettings(url=url, token=token)
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def ratio(slow: float, fast: float) -> str:
    return f"{slow / fast:,.1f}x" if fast > 0 else "-"


def report(local: Measured, columns: dict[str, Measured]) -> str:
    names = list(columns)
    rows = [
        ("measure", "local pool", *names, f"ratio to local ({', '.join(names)})"),
        ("---", "---:", *("---:" for _ in names), "---:"),
    ]

    def timing(name: str, pick) -> None:
        for label, attribute in ((f"{name}, p50", "p50"), (f"{name}, p95", "p95")):
            base = getattr(pick(local), attribute)
            numbers = [getattr(pick(measured), attribute) for measured in columns.values()]
            ratios = " / ".join(ratio(number, base) for number in numbers)
            rows.append((label, ms(base), *(ms(number) for number in numbers), ratios))

    timing("acquire a session", lambda measured: measured.acquire)
    timing("acquire + first pandas cell", lambda measured: measured.first_cell)
    timing("round trip `1+1`", lambda measured: measured.round_trip)
    base = local.uss / 2**20
    uss = [measured.uss / 2**20 for measured in columns.values()]
    rows.append(
        (
            "USS per session after the realistic cell",
            f"{base:.0f} MB",
            *(f"{value:.0f} MB" for value in uss),
            " / ".join(ratio(value, base) for value in uss),
        )
    )
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


async def measure_modes(
    settings: GatewaySettings, args: argparse.Namespace, analyst_kernel: str | None
) -> dict[str, Measured]:
    rounds, trips = args.rounds, args.trips
    columns = {
        "gateway, new kernel": await measure_gateway(
            settings, rounds, trips, pooled=False, kernel_name=args.kernel_name
        ),
        "gateway, pooled kernel": await measure_gateway(
            settings, rounds, trips, pooled=True, kernel_name=args.kernel_name
        ),
    }
    if analyst_kernel is not None:
        columns["gateway, pooled, our kernelspec"] = await measure_gateway(
            settings, rounds, trips, pooled=True, kernel_name=analyst_kernel
        )
    return columns


async def run(args: argparse.Namespace) -> None:
    local = await measure_local(args.local_rounds, args.trips)
    if args.url:
        settings = GatewaySettings(url=args.url, token=args.token)
        columns = await measure_modes(settings, args, args.analyst_kernel)
    else:
        with tempfile.TemporaryDirectory() as root:
            async with kernel_gateway(Path(root)) as settings:
                columns = await measure_modes(settings, args, ANALYST_KERNEL)
    print(
        f"{time.strftime('%Y-%m-%d')} · {platform.node()} · {platform.machine()} · "
        f"{os.cpu_count()} CPUs · Python {platform.python_version()} · "
        f"{args.local_rounds} local / {args.rounds} gateway acquisitions, {args.trips} round trips"
    )
    print(report(local, columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="gateway sessions per mode")
    parser.add_argument("--local-rounds", type=int, default=10)
    parser.add_argument("--trips", type=int, default=100, help="`1+1` round trips")
    parser.add_argument("--url", help="an existing gateway (default: start one here)")
    parser.add_argument("--token", default=None)
    parser.add_argument("--kernel-name", default="python3", help="the plain kernelspec")
    parser.add_argument(
        "--analyst-kernel", help="with --url: the gateway's name for our kernelspec, if any"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
