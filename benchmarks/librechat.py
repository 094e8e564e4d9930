"""LibreChat Code API benchmark: what one `/librechat/v1/exec` costs on top of the sandbox
call it wraps, in one run.

    uv run python benchmarks/librechat.py [--rounds 30]

The app runs in-process (httpx's ASGI transport: no sockets, so the numbers are the
protocol's and the service's, not the network's), on a fresh SQLite database and the local
backend with isolation on. Measured, each as a median over `--rounds` calls:
- baseline: `run_code("print(1)")` on a session already held (what every exec ends up doing);
- `exec` in the default profile: a fresh sandbox per call (acquired from the pre-forked pool,
  ended after), the output listing before and after, a new session row;
- `exec` in the stateful profile, reusing its kept interpreter;
- `exec` with a 1 MiB CSV as an input file ref (written into the sandbox each call);
- `exec` that writes a 100 KiB file (listed, stored as a blob and a row, returned as a ref).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from sandbox_analyst.api import create_app
from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SessionKey

BASE = "/librechat/v1"


async def timed(rounds: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    for _ in range(3):  # warm: imports, the pool refilling after the first hand-overs
        await call()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return times


async def main(rounds: int, data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, sandbox={"pool_size": 2})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services = app.state.services
        user = await services.users.create_user("bench")
        headers = {"X-API-Key": (await services.users.create_key(user.id)).secret}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            sessions = services.sandboxes.sessions
            held, _ = await sessions.acquire(SessionKey("bench", "baseline"), hold=True)

            async def baseline() -> None:
                await held.run_code("print(1)")

            async def execute(body: dict, extra: dict | None = None) -> dict:
                response = await client.post(
                    f"{BASE}/exec", headers={**headers, **(extra or {})}, json=body
                )
                response.raise_for_status()
                return response.json()

            csv = b"x,y\n" + b"".join(b"%d,%d\n" % (i, i * 2) for i in range(100_000))
            uploaded = (
                await client.post(
                    f"{BASE}/upload", headers=headers, files={"file": ("big.csv", csv[: 1 << 20])}
                )
            ).json()
            ref = {
                "id": uploaded["files"][0]["fileId"],
                "name": "big.csv",
                "storage_session_id": uploaded["session_id"],
            }
            stateful = {"X-CodeAPI-Expected-Profile": "stateful"}
            rows = [
                ("run_code('print(1)') on a held session", await timed(rounds, baseline)),
                (
                    "exec print(1), default profile",
                    await timed(rounds, lambda: execute({"lang": "py", "code": "print(1)"})),
                ),
                (
                    "exec print(1), stateful profile (reused)",
                    await timed(
                        rounds,
                        lambda: execute(
                            {"lang": "py", "code": "print(1)", "runtime_session_hint": "b"},
                            stateful,
                        ),
                    ),
                ),
                (
                    "exec with a 1 MiB CSV input, default",
                    await timed(
                        rounds,
                        lambda: execute({"lang": "py", "code": "print(1)", "files": [ref]}),
                    ),
                ),
                (
                    "exec writing a 100 KiB file, default",
                    await timed(
                        rounds,
                        lambda: execute(
                            {
                                "lang": "py",
                                "code": "open('/mnt/data/o.bin', 'wb').write(b'0' * 102400)",
                            }
                        ),
                    ),
                ),
            ]
            sessions.release(SessionKey("bench", "baseline"))
    baseline_median = statistics.median(rows[0][1])
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{'step':<45} {'n':>4} {'median':>10} {'p90':>10} {'vs baseline':>12}")
    for name, times in rows:
        median = statistics.median(times)
        p90 = sorted(times)[max(0, int(0.9 * len(times)) - 1)]
        print(
            f"{name:<45} {len(times):>4} {median * 1000:>8.1f}ms {p90 * 1000:>8.1f}ms "
            f"{median / baseline_median:>11.1f}x"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="librechat-bench-") as directory:
        asyncio.run(main(arguments.rounds, Path(directory)))
