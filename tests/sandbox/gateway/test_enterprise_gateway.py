"""The same backend against Jupyter Enterprise Gateway 3.x with local kernels.

Enterprise Gateway pins jupyter_client < 7, which cannot share this project's environment, so
it lives in an environment of its own: `uv venv eg && VIRTUAL_ENV=eg uv pip install
"jupyter_enterprise_gateway>=3,<4" ipykernel pandas matplotlib`, then
`ANALYST_TEST_ENTERPRISE_GATEWAY=eg/bin/jupyter`. Without it these tests are skipped.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from sandbox_analyst.sandbox.gateway import GatewayProvider
from sandbox_analyst.sandbox.models import SandboxErrorName
from tests.sandbox.gateway.conftest import started_gateway_provider
from tests.sandbox.gateway.gateway_process import GatewayProcess

ENTERPRISE_GATEWAY = os.environ.get("ANALYST_TEST_ENTERPRISE_GATEWAY")
pytestmark = pytest.mark.skipif(
    not ENTERPRISE_GATEWAY, reason="set ANALYST_TEST_ENTERPRISE_GATEWAY to EG's jupyter"
)


@pytest_asyncio.fixture
async def enterprise_provider(tmp_path: Path) -> AsyncIterator[GatewayProvider]:
    gateway = GatewayProcess(tmp_path / "root", enterprise=ENTERPRISE_GATEWAY)
    await gateway.start()
    try:
        async with started_gateway_provider(gateway) as provider:
            yield provider
    finally:
        await gateway.stop()


async def test_code_figures_files_and_shell_work_on_enterprise_gateway(
    enterprise_provider: GatewayProvider,
) -> None:
    sandbox = await enterprise_provider.create()
    await sandbox.files.write("numbers.csv", b"x\n1\n2\n")
    execution = await sandbox.run_code(
        "import pandas as pd, matplotlib.pyplot as plt\n"
        "frame = pd.read_csv('numbers.csv')\n"
        "print(int(frame.x.sum()))\n"
        "figure = plt.figure(); plt.plot(frame.x); figure"
    )
    assert execution.error is None
    assert execution.logs.stdout == ["3\n"]
    images = [base64.b64decode(result.png) for result in execution.results if result.png]
    assert len(images) == 1
    shell = await sandbox.run_code("ls", language="bash")
    assert "numbers.csv" in "".join(shell.logs.stdout)
    await sandbox.run_code("open('out.txt', 'w').write('made')")
    assert await sandbox.files.read_bytes("out.txt") == b"made"


async def test_timeouts_and_restarts_on_enterprise_gateway(
    enterprise_provider: GatewayProvider,
) -> None:
    sandbox = await enterprise_provider.create()
    await sandbox.run_code("kept = 1")
    timed_out = await sandbox.run_code("import time\ntime.sleep(60)", timeout=2)
    assert timed_out.error is not None
    assert timed_out.error.name == SandboxErrorName.TIMEOUT
    assert (await sandbox.run_code("kept")).text == "1"
    ignored = await sandbox.run_code(
        "import time\nwhile True:\n    try:\n        time.sleep(0.2)\n"
        "    except KeyboardInterrupt:\n        pass",
        timeout=1,
    )
    assert ignored.error is not None
    assert ignored.error.name == SandboxErrorName.RESTARTED
    assert sandbox.generation == 1
    other = await enterprise_provider.connect(sandbox.sandbox_id)
    assert other is sandbox
    await asyncio.wait_for(sandbox.close(), 60)
