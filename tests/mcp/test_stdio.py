"""`analyst mcp` on stdio, started the way an MCP client (Claude Desktop, Cursor) starts it:
a real process speaking the protocol on its stdin and stdout, driven by the `mcp` SDK's
client. Its sandboxes come from a local pool of its own, built from the settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.mcp.conftest import images_of, run, text_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_analyst_mcp_on_stdio_keeps_state_and_returns_figures(
    tmp_path: Path, mode: str
) -> None:
    environment = {
        **os.environ,
        "ANALYST_DATA_DIR": str(tmp_path / "data"),
        "ANALYST_SANDBOX__POOL_SIZE": "1",
        "ANALYST_SANDBOX__PRELOAD": '["numpy", "pandas", "matplotlib.pyplot"]',
    }
    command = [sys.executable, "-c", "from sandbox_analyst.cli import main; main()", "mcp"]
    server = StdioServerParameters(
        command=command[0], args=command[1:], env=environment, cwd=str(tmp_path)
    )
    async with Client(stdio_client(server), mode=mode) as client:
        # Output the worker writes straight to fd 1 must not land in the protocol stream.
        assigned = await run(client, "import os\nos.write(1, b'raw\\n'); x = 20")
        doubled = await run(client, "x * 2")
        shell = await run(client, "echo from bash", language="bash")
        figure = await run(client, "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()")
        failed = await run(client, "undefined_name")
    assert not assigned.is_error
    assert text_of(doubled) == "40"
    assert text_of(shell) == "from bash\n"
    assert len(images_of(figure)) == 1
    assert failed.is_error
    assert "NameError" in text_of(failed)
