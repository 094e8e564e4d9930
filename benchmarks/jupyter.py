"""Open WebUI's code-interpreter runs on our /jupyter subset, next to the same work on a fresh
ipykernel (what a plain Jupyter server starts for each of Open WebUI's runs), in one run.

    uv run python benchmarks/jupyter.py [--runs 10] [--trips 50]

Measured:
1. one Open WebUI run, exactly its sequence: `POST /jupyter/api/kernels?token=`, the channels
   websocket, one execute_request of `print(1+1)` until `status: idle`, `DELETE` the kernel; vs
   jupyter_client starting a kernel, executing the same cell and shutting the kernel down;
2. a `1+1` round trip on an open websocket, vs `execute_interactive("1+1")` on an open kernel.
Our server runs as `analyst serve` in a child process on 127.0.0.1, isolation on, as in
production. The public anchor: Open WebUI against Jupyter Enterprise Gateway measured
~0.9 s per run (shared/client-protocols.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import websockets
from jupyter_client.manager import start_new_kernel

from sandbox_analyst.config import Settings
from sandbox_analyst.service import Services

CELL = "print(1+1)"
ENTERPRISE_GATEWAY_RUN_S = 0.9


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, round(0.95 * len(samples)) - 1)]


@contextmanager
def our_server() -> Iterator[tuple[str, str]]:
    """`analyst serve` on a throwaway data directory; yields (base URL, API key)."""
    with tempfile.TemporaryDirectory() as data_dir:
        key = asyncio.run(_make_key(Settings(data_dir=Path(data_dir))))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {**os.environ, "ANALYST_DATA_DIR": data_dir, "ANALYST_LOG_LEVEL": "WARNING"}
        command = [sys.executable, "-c", "from sandbox_analyst.cli import main; main()"]
        command += ["serve", "--host", "127.0.0.1", "--port", str(port)]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(f"{url}/api/health", process)
            yield url, key
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


def _execute_request(code: str) -> dict[str, object]:
    header = {"msg_id": uuid.uuid4().hex, "msg_type": "execute_request", "username": "user"}
    header |= {"session": uuid.uuid4().hex, "date": "", "version": "5.3"}
    content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}}
    content |= {"allow_stdin": False, "stop_on_error": True}
    return {"header": header, "parent_header": {}, "metadata": {}, "content": content}


async def _until_idle(ws: websockets.ClientConnection, request: dict) -> str:
    stdout = ""
    while True:
        reply = json.loads(await ws.recv())
        if reply["parent_header"].get("msg_id") != request["header"]["msg_id"]:
            continue
        if reply["msg_type"] == "stream":
            stdout += reply["content"]["text"]
        if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
            return stdout


async def measure_ours(url: str, key: str, runs: int, trips: int) -> dict[str, list[float]]:
    ws_base = url.replace("http", "ws", 1)
    params = {"token": key}
    run_times, trip_times = [], []
    async with httpx.AsyncClient(base_url=url) as http:
        for index in range(runs):
            began = time.perf_counter()
            kernel_id = (await http.post("/jupyter/api/kernels", params=params)).json()["id"]
            channels = f"{ws_base}/jupyter/api/kernels/{kernel_id}/channels?token={key}"
            async with websockets.connect(channels) as ws:
                request = _execute_request(CELL)
                await ws.send(json.dumps(request))
                assert await _until_idle(ws, request) == "2\n"
                if index == runs - 1:  # the round trips, before this run's clock stops
                    run_times.append(time.perf_counter() - began)
                    for _ in range(trips):
                        trip = time.perf_counter()
                        request = _execute_request("1+1")
                        await ws.send(json.dumps(request))
                        await _until_idle(ws, request)
                        trip_times.append(time.perf_counter() - trip)
            await http.delete(f"/jupyter/api/kernels/{kernel_id}", params=params)
            if index < runs - 1:
                run_times.append(time.perf_counter() - began)
    return {"run": run_times, "trip": trip_times}


def measure_kernel(runs: int, trips: int) -> dict[str, list[float]]:
    run_times, trip_times = [], []
    for index in range(runs):
        began = time.perf_counter()
        manager, client = start_new_kernel(kernel_name="python3", stderr=subprocess.DEVNULL)
        try:
            reply = client.execute_interactive(CELL, timeout=60, output_hook=lambda _m: None)
            assert reply["content"]["status"] == "ok"
            if index == runs - 1:
                for _ in range(trips):
                    trip = time.perf_counter()
                    client.execute_interactive("1+1", timeout=60, output_hook=lambda _m: None)
                    trip_times.append(time.perf_counter() - trip)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
            run_times.append(time.perf_counter() - began)
    return {"run": run_times, "trip": trip_times}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def report(ours: dict[str, list[float]], kernel: dict[str, list[float]]) -> str:
    def ratio(base: list[float], mine: list[float]) -> str:
        value = p50(base) / p50(mine)
        return f"{value:,.1f}x faster" if value >= 1 else f"{1 / value:,.1f}x slower"

    rows = [
        ("measure", "ours (/jupyter)", "fresh ipykernel (jupyter_client)", "ratio"),
        ("---", "---:", "---:", "---:"),
        (
            "one Open WebUI run (kernel, execute, delete), p50",
            ms(p50(ours["run"])),
            ms(p50(kernel["run"])),
            ratio(kernel["run"], ours["run"]),
        ),
        ("one run, p95", ms(p95(ours["run"])), ms(p95(kernel["run"])), ""),
        (
            "`1+1` round trip on an open kernel, p50",
            ms(p50(ours["trip"])),
            ms(p50(kernel["trip"])),
            ratio(kernel["trip"], ours["trip"]),
        ),
        (
            "public anchor: one run on Enterprise Gateway",
            ms(p50(ours["run"])),
            ms(ENTERPRISE_GATEWAY_RUN_S),
            ratio([ENTERPRISE_GATEWAY_RUN_S], ours["run"]),
        ),
    ]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="Open WebUI runs")
    parser.add_argument("--trips", type=int, default=50, help="`1+1` round trips")
    arguments = parser.parse_args()
    with our_server() as (url, key):
        ours = asyncio.run(measure_ours(url, key, arguments.runs, arguments.trips))
    kernel = measure_kernel(arguments.runs, arguments.trips)
    print(report(ours, kernel))


if __name__ == "__main__":
    main()
