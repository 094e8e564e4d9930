"""Controlled egress benchmark: what the relay and the proxy cost, in one run.

    uv run python benchmarks/egress.py [--fetches 200] [--megabytes 64]

A local HTTP server on 127.0.0.1 serves a 1 KiB file and a large one. Measured in the same
run, each as the median of `--fetches` sequential urllib fetches (a new connection each, as
urllib makes them):
- baseline: urllib on the host, straight to the server;
- the proxy alone: urllib on the host through the egress proxy (served on a TCP port here);
- the whole path: urllib in a sandbox, through the relay in its namespace and the proxy;
- throughput of one large download, the same three ways;
- the start of a pooled worker (fork + isolation + ready) with and without egress: what the
  relay's listener and fork add, paid off the acquire path when the pool refills.
Prints a Markdown table with ratios against the baseline of each group.
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox.egress import (
    EgressLimits,
    EgressPolicy,
    EgressRecord,
    EgressSession,
)
from sandbox_analyst.sandbox.egress.proxy import serve_connection
from sandbox_analyst.sandbox.local import SandboxPool

SMALL = b"x" * 1024


def file_server(large: bytes) -> http.server.ThreadingHTTPServer:
    class Files(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = large if self.path == "/large" else SMALL
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Files)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def fetch_loop(opener_proxy: str | None, url: str, count: int) -> list[float]:
    handlers = [urllib.request.ProxyHandler({"http": opener_proxy} if opener_proxy else {})]
    opener = urllib.request.build_opener(*handlers)
    times = []
    for _ in range(count):
        began = time.perf_counter()
        with opener.open(url) as response:
            response.read()
        times.append(time.perf_counter() - began)
    return times


SANDBOX_LOOP = """
import time, urllib.request
times = []
for _ in range({count}):
    began = time.perf_counter()
    with urllib.request.urlopen({url!r}) as response:
        response.read()
    times.append(time.perf_counter() - began)
times
"""


async def proxy_on_tcp(session: EgressSession) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_connection(session, reader, writer)

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def worker_start(settings: SandboxSettings, root: Path, count: int) -> float:
    """Median seconds for the pool to fork and ready one worker."""
    async with SandboxPool(settings.model_copy(update={"pool_size": 0}), root) as pool:
        times = []
        for _ in range(count):
            began = time.perf_counter()
            sandbox = await pool.acquire()  # nothing waits in the pool: forked on demand
            times.append(time.perf_counter() - began)
            await sandbox.close()
        return statistics.median(times)


async def main(fetches: int, megabytes: int) -> None:
    large = b"y" * (megabytes * 1024 * 1024)
    server = file_server(large)
    port = server.server_address[1]
    small_url, large_url = f"http://127.0.0.1:{port}/small", f"http://127.0.0.1:{port}/large"
    allow = [f"127.0.0.1:{port}"]
    records: list[EgressRecord] = []
    # Limits out of the way: what is measured is the path, not the rate limiter.
    limits = EgressLimits(connections_per_minute=10**6, bytes_per_session=2**62)
    session = EgressSession("bench", EgressPolicy.from_entries(allow), limits, records.append)
    proxy = await proxy_on_tcp(session)
    proxy_url = f"http://127.0.0.1:{proxy.sockets[0].getsockname()[1]}"

    direct = statistics.median(await asyncio.to_thread(fetch_loop, None, small_url, fetches))
    proxied = statistics.median(await asyncio.to_thread(fetch_loop, proxy_url, small_url, fetches))
    direct_large = min(await asyncio.to_thread(fetch_loop, None, large_url, 3))
    proxied_large = min(await asyncio.to_thread(fetch_loop, proxy_url, large_url, 3))

    base = SandboxSettings(preload=[], timeout=300.0)
    # No rate or byte limit in the way: what is measured is the path, not the limiter.
    unlimited = {"max_connections_per_minute": 10**6, "max_bytes_per_session": 2**62}
    egress = base.egress.model_copy(update={"allow": allow, **unlimited})
    egress_settings = base.model_copy(update={"egress": egress})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        async with SandboxPool(
            egress_settings.model_copy(update={"pool_size": 1}), root / "a"
        ) as pool:
            sandbox = await pool.acquire()
            execution = await sandbox.run_code(SANDBOX_LOOP.format(count=fetches, url=small_url))
            if execution.error is not None:
                raise SystemExit(f"the sandbox's fetches failed: {execution.error.value}")
            inside = statistics.median(eval(execution.text))
            execution = await sandbox.run_code(SANDBOX_LOOP.format(count=3, url=large_url))
            inside_large = min(eval(execution.text))
            await sandbox.close()
        start_plain = await worker_start(base, root / "b", 10)
        start_egress = await worker_start(egress_settings, root / "c", 10)
    proxy.close()
    server.shutdown()

    def mb_s(seconds: float) -> float:
        return megabytes / seconds

    rows = [
        ("fetch, host straight to the server (baseline)", f"{direct * 1000:.2f} ms", 1.0),
        ("fetch, host through the egress proxy", f"{proxied * 1000:.2f} ms", proxied / direct),
        ("fetch, sandbox through relay + proxy", f"{inside * 1000:.2f} ms", inside / direct),
        ("download, host straight (baseline)", f"{mb_s(direct_large):.0f} MiB/s", 1.0),
        (
            "download, host through the proxy",
            f"{mb_s(proxied_large):.0f} MiB/s",
            direct_large / proxied_large,
        ),
        (
            "download, sandbox through relay + proxy",
            f"{mb_s(inside_large):.0f} MiB/s",
            direct_large / inside_large,
        ),
        ("worker start on demand, no egress (baseline)", f"{start_plain * 1000:.1f} ms", 1.0),
        (
            "worker start on demand, with egress",
            f"{start_egress * 1000:.1f} ms",
            start_egress / start_plain,
        ),
    ]
    print(f"| measure ({fetches} fetches of 1 KiB; {megabytes} MiB download) | value | ratio |")
    print("|---|---|---|")
    for name, value, ratio in rows:
        print(f"| {name} | {value} | {ratio:.2f} |")
    print("\nratio: time against the baseline above it (for downloads: speed, 1.00 = as fast)")
    print(f"\n{len(records)} connections recorded by the host-side proxy session")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fetches", type=int, default=200)
    parser.add_argument("--megabytes", type=int, default=64)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.fetches, arguments.megabytes))
