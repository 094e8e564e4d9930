"""`analyst mcp --http`: the same tools over streamable HTTP from a real process, at
http://HOST:PORT/mcp, until it is stopped."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import free_port
from tests.mcp.conftest import run, text_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_analyst_mcp_http_serves_the_tools_until_stopped(tmp_path: Path) -> None:
    port = free_port()
    environment = {
        **os.environ,
        "ANALYST_DATA_DIR": str(tmp_path / "data"),
        "ANALYST_SANDBOX__POOL_SIZE": "1",
        "ANALYST_SANDBOX__PRELOAD": '["numpy"]',
    }
    command = [sys.executable, "-c", "from sandbox_analyst.cli import main; main()"]
    process = await asyncio.create_subprocess_exec(
        *command,
        "mcp",
        "--http",
        "--port",
        str(port),
        env=environment,
        cwd=tmp_path,
        stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        await _wait_until_listening(url, process)
        async with Client(streamable_http_client(url), mode="legacy") as client:
            await run(client, "n = 4")
            squared = await run(client, "n ** 2")
            shell = await run(client, "echo ok", language="bash")
        assert text_of(squared) == "16"
        assert text_of(shell) == "ok\n"
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()


async def _wait_until_listening(url: str, process: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as http:
        while True:
            if process.returncode is not None:
                raise AssertionError(f"analyst mcp --http exited with {process.returncode}")
            try:
                await http.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
