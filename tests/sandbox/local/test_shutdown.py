"""No worker outlives the server: clean shutdown on SIGTERM/SIGINT, and none left on SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

SERVER = """
import asyncio, json, sys
from pathlib import Path
from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox import SessionKey, SessionManager
from sandbox_analyst.sandbox.local import LocalProvider

async def main():
    provider = LocalProvider(SandboxSettings(pool_size=1, preload=["numpy"]), Path(sys.argv[1]))
    manager = SessionManager(provider, max_sessions=4, idle_timeout=60)
    await manager.start()
    stopped = asyncio.Event()
    manager.install_signal_handlers(stopped)
    keys = [SessionKey("user", purpose) for purpose in ("a", "b")]
    sessions = [(await manager.acquire(key))[0] for key in keys]
    await provider.wait_ready()
    pids = [s.pid for s in sessions] + [provider.pool.zygote_pid]
    print(json.dumps(pids), flush=True)
    await stopped.wait()
    print("stopped", flush=True)

asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _start_server(tmp_path) -> tuple[subprocess.Popen[str], list[int]]:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    line = process.stdout.readline()
    return process, json.loads(line)


def _wait_gone(pids: list[int]) -> list[int]:
    for _ in range(100):
        if not any(_alive(pid) for pid in pids):
            return []
        time.sleep(0.1)
    return [pid for pid in pids if _alive(pid)]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_shuts_down_every_worker_and_the_zygote(tmp_path, signum) -> None:
    process, pids = _start_server(tmp_path)
    assert all(_alive(pid) for pid in pids)
    process.send_signal(signum)
    assert process.stdout.readline().strip() == "stopped"
    assert process.wait(timeout=30) == 0
    assert _wait_gone(pids) == []


def test_workers_die_with_a_killed_server(tmp_path) -> None:
    process, pids = _start_server(tmp_path)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert _wait_gone(pids) == []
