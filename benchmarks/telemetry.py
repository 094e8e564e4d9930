"""What measuring costs: one telemetry event with nobody listening and with the Prometheus
listener, one `/metrics` scrape, and one HTTP request through the real app (the middleware's
request id, access line and metrics included) as the baseline they compare with, all in one
run.

    uv run python benchmarks/telemetry.py [--rounds 2000]

The HTTP baseline is `GET /api/health` (one database ping) over httpx's ASGI transport, in
process, on SQLite: the cheapest request the server answers. Each row is the median of
`--rounds` calls (events: the median of batches of 1000, divided by 1000). A turn emits a
handful of events (an execution, a model call per step, files, the turn, its requests): the
ratio column says what one costs next to the cheapest request.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from sandbox_analyst.api import create_app
from sandbox_analyst.config import Settings
from sandbox_analyst.telemetry import (
    ExecutionFinished,
    HTTPRequestFinished,
    emit,
    prometheus,
    unsubscribe,
)

EVENT = ExecutionFinished("local", "python", "code", "ok", 0.012, 180 * 1024 * 1024)
REQUEST = HTTPRequestFinished("GET", "/api/conversations/{conversation_id}", 200, 0.004)


def per_event_seconds(event: object, rounds: int) -> float:
    batches = []
    for _ in range(max(5, rounds // 100)):
        started = time.perf_counter()
        for _ in range(1000):
            emit(event)  # type: ignore[arg-type]
        batches.append((time.perf_counter() - started) / 1000)
    return statistics.median(batches)


async def http_and_scrape(rounds: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as root:
        settings = Settings(data_dir=Path(root) / "data", metrics={"public": True})
        application = create_app(settings)
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                for _ in range(50):  # warm up: connection pool, route compilation
                    await http.get("/api/health")
                health = []
                for _ in range(rounds):
                    started = time.perf_counter()
                    await http.get("/api/health")
                    health.append(time.perf_counter() - started)
                scrapes = []
                size = 0
                for _ in range(max(20, rounds // 50)):
                    started = time.perf_counter()
                    response = await http.get("/metrics")
                    scrapes.append(time.perf_counter() - started)
                    size = len(response.content)
    return statistics.median(health), statistics.median(scrapes), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    rounds = parser.parse_args().rounds
    logging.getLogger("sandbox_analyst.access").setLevel(logging.WARNING)

    unsubscribe(prometheus.record)
    silent = per_event_seconds(EVENT, rounds)
    prometheus.install()
    execution = per_event_seconds(EVENT, rounds)
    request = per_event_seconds(REQUEST, rounds)
    health, scrape, size = asyncio.run(http_and_scrape(rounds))

    rows = [
        ("GET /api/health through the app (baseline)", health),
        ("emit an event, nobody listening", silent),
        ("emit ExecutionFinished, Prometheus listening", execution),
        ("emit HTTPRequestFinished, Prometheus listening", request),
        (f"GET /metrics ({size:,} bytes)", scrape),
    ]
    print(f"{'what':<50} {'median':>12} {'vs baseline':>12}")
    for name, seconds in rows:
        print(f"{name:<50} {seconds * 1e6:>9.1f} µs {seconds / health:>11.3f}x")


if __name__ == "__main__":
    main()
