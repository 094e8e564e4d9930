"""E2B SDK benchmark: the official Python SDK (`e2b-code-interpreter`) against our server,
next to the same work on a fresh ipykernel driven by jupyter_client, in one run.

    uv run python benchmarks/e2b.py [--rounds 10] [--trips 100] [--kernel-rounds 3]

E2B's own code-interpreter server (a FastAPI app in front of Jupyter, shipped only inside E2B's
sandbox template) cannot be installed from PyPI or npm, so the baseline is what that server
runs on: a fresh ipykernel, started and driven with jupyter_client over ZMQ. Measured:
1. `Sandbox.create()` up to the first `run_code` result, vs starting a kernel up to its first
   result (the same cell);
2. a `run_code("1+1")` round trip, vs `execute_interactive("1+1")`;
3. a realistic cell (200k-row DataFrame, groupby, bar plot to PNG, LinearRegression).
Our server runs as `analyst serve` with `server.e2b_port` in a child process on 127.0.0.1,
isolation on, as in production. E2B's published figure for starting a sandbox (~150 ms; third
parties measure p50 ~0.44 s) is quoted as the public anchor.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Run as a script, this file's folder is first on sys.path, and this file's name would shadow
# the `e2b` package that the SDK imports.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import httpx  # noqa: E402
from e2b_code_interpreter import Sandbox  # noqa: E402
from jupyter_client.manager import start_new_kernel  # noqa: E402

from sandbox_analyst.config import Settings  # noqa: E402
from sandbox_analyst.service import Services  # noqa: E402

FIRST_CELL = "1+1"
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
E2B_PUBLISHED_CREATE_S = 0.150


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def our_server() -> Iterator[dict[str, str]]:
    """`analyst serve` with the E2B port, on a throwaway data directory; yields SDK options."""
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir))
        key = asyncio.run(_make_key(settings))
        port, e2b_port = _free_port(), _free_port()
        env = {
            **os.environ,
            "ANALYST_DATA_DIR": data_dir,
            "ANALYST_SERVER__E2B_PORT": str(e2b_port),
            "ANALYST_LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "-c", "from sandbox_analyst.cli import main; main()"]
        command += ["serve", "--host", "127.0.0.1", "--port", str(port)]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            _wait_healthy(f"http://127.0.0.1:{port}/api/health", process)
            url = f"http://127.0.0.1:{e2b_port}"
            yield {"api_key": key, "api_url": url, "sandbox_url": url}
        finally:
            process.terminate()
            process.wait(timeout=60)


async def _make_key(settings: Settings) -> str:
    async with Services.running(settings) as services:
        user = await services.users.create_user("bench")
        return (await services.users.create_key(user.id)).secret


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited while starting")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                time.sleep(2.0)  # let the pool fill, as on a server that has been up a while
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not become healthy")


def measure_ours(rounds: int, trips: int, cells: int) -> dict[str, list[float]]:
    with our_server() as opts:
        create, first = [], []
        for _ in range(rounds):
            time.sleep(0.3)  # the pool refills between requests, as between users
            began = time.perf_counter()
            sandbox = Sandbox.create(**opts)
            created = time.perf_counter()
            execution = sandbox.run_code(FIRST_CELL)
            finished = time.perf_counter()
            assert execution.text == "2", execution
            create.append(created - began)
            first.append(finished - began)
            sandbox.kill()
        sandbox = Sandbox.create(**opts)
        try:
            round_trips = _timed(lambda: sandbox.run_code("1+1"), trips)
            realistic = _timed(lambda: _check(sandbox.run_code(REALISTIC_CELL)), cells)
        finally:
            sandbox.kill()
    return {"create": create, "first": first, "trip": round_trips, "cell": realistic}


def _check(execution: object) -> None:
    assert getattr(execution, "error", None) is None, execution


def measure_kernel(rounds: int, trips: int, cells: int) -> dict[str, list[float]]:
    first, round_trips, realistic = [], [], []
    for index in range(rounds):
        began = time.perf_counter()
        manager, client = start_new_kernel(kernel_name="python3", stderr=subprocess.DEVNULL)
        try:
            reply = client.execute_interactive(FIRST_CELL, timeout=60, output_hook=_ignore)
            first.append(time.perf_counter() - began)
            assert reply["content"]["status"] == "ok"
            if index == rounds - 1:
                trip = functools.partial(_kernel_cell, client, "1+1")
                round_trips = _timed(trip, trips)
                realistic = _timed(functools.partial(_kernel_cell, client, REALISTIC_CELL), cells)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    return {"first": first, "trip": round_trips, "cell": realistic}


def _kernel_cell(client: Any, code: str) -> None:
    reply = client.execute_interactive(code, timeout=120, output_hook=_ignore)
    assert reply["content"]["status"] == "ok", reply["content"]


def _timed(action: Callable[[], object], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        began = time.perf_counter()
        action()
        samples.append(time.perf_counter() - began)
    return samples


def _ignore(message: dict[str, object]) -> None:
    """Kernel output is not what is measured."""


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def report(ours: dict[str, list[float]], kernel: dict[str, list[float]]) -> str:
    def ratio(base: list[float], mine: list[float]) -> str:
        value = p50(base) / p50(mine)
        return f"{value:,.1f}x faster" if value >= 1 else f"{1 / value:,.1f}x slower"

    rows = [
        ("measure", "ours, via the E2B SDK", "fresh ipykernel (jupyter_client)", "ratio"),
        ("---", "---:", "---:", "---:"),
        ("`Sandbox.create()` alone, p50", ms(p50(ours["create"])), "", ""),
        (
            "create to first `run_code` result, p50",
            ms(p50(ours["first"])),
            ms(p50(kernel["first"])),
            ratio(kernel["first"], ours["first"]),
        ),
        ("create to first result, p95", ms(p95(ours["first"])), ms(p95(kernel["first"])), ""),
        (
            '`run_code("1+1")` round trip, p50',
            ms(p50(ours["trip"])),
            ms(p50(kernel["trip"])),
            ratio(kernel["trip"], ours["trip"]),
        ),
        ("round trip, p95", ms(p95(ours["trip"])), ms(p95(kernel["trip"])), ""),
        (
            "realistic cell, p50",
            ms(p50(ours["cell"])),
            ms(p50(kernel["cell"])),
            ratio(kernel["cell"], ours["cell"]),
        ),
        (
            "public anchor: E2B's published sandbox start",
            ms(p50(ours["create"])),
            ms(E2B_PUBLISHED_CREATE_S),
            ratio([E2B_PUBLISHED_CREATE_S], ours["create"]),
        ),
    ]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="sandboxes created")
    parser.add_argument("--trips", type=int, default=100, help="`1+1` round trips")
    parser.add_argument("--cells", type=int, default=5, help="realistic cells")
    parser.add_argument("--kernel-rounds", type=int, default=3, help="kernels started")
    args = parser.parse_args()
    ours = measure_ours(args.rounds, args.trips, args.cells)
    kernel = measure_kernel(args.kernel_rounds, args.trips, args.cells)
    print(
        f"{time.strftime('%Y-%m-%d')} · {platform.node()} · {platform.machine()} · "
        f"Python {platform.python_version()} · {args.rounds} sandboxes, "
        f"{args.kernel_rounds} kernel starts, {args.trips} round trips, {args.cells} cells"
    )
    print(report(ours, kernel))


if __name__ == "__main__":
    main()
