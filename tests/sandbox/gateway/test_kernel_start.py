"""Kernels that die while starting (on a busy host a kernel's ports can be taken before it
binds them): the session gets a kernel that works, or a clear error, and quickly."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from sandbox_analyst.sandbox import SandboxStartError
from tests.sandbox.gateway.conftest import started_gateway_provider
from tests.sandbox.gateway.gateway_process import GatewayProcess

# The gateway gives up on a kernel after its first restart also fails, and looks often.
QUICK_TO_GIVE_UP = ["--KernelRestarter.restart_limit=1", "--KernelRestarter.time_to_dead=0.5"]


def _kernel_failing_its_first_launches(jupyter_path: Path, failures: int) -> Path:
    """A kernelspec `flaky` whose first `failures` launches exit at once; returns the file
    that counts its launches."""
    spec = jupyter_path / "kernels" / "flaky"
    spec.mkdir(parents=True)
    launches = spec / "launches"
    launcher = spec / "launch.py"
    launcher.write_text(
        "import pathlib, runpy, sys\n"
        f"counter = pathlib.Path({str(launches)!r})\n"
        "count = int(counter.read_text()) if counter.exists() else 0\n"
        "counter.write_text(str(count + 1))\n"
        f"if count < {failures}:\n"
        "    sys.exit(1)\n"
        "sys.argv = ['ipykernel_launcher', '-f', sys.argv[1]]\n"
        "runpy.run_module('ipykernel_launcher', run_name='__main__')\n"
    )
    kernel = {
        "argv": [sys.executable, str(launcher), "{connection_file}"],
        "display_name": "flaky",
        "language": "python",
    }
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return launches


@pytest_asyncio.fixture
async def flaky_gateway(tmp_path: Path) -> AsyncIterator[tuple[GatewayProcess, Path]]:
    """A gateway whose `flaky` kernels die on their first two launches: the first kernel
    started is given up on, the second works."""
    jupyter_path = tmp_path / "jupyter"
    launches = _kernel_failing_its_first_launches(jupyter_path, failures=2)
    gateway = GatewayProcess(
        tmp_path / "root", env={"JUPYTER_PATH": str(jupyter_path)}, options=QUICK_TO_GIVE_UP
    )
    await gateway.start()
    yield gateway, launches
    await gateway.stop()


async def test_a_kernel_that_dies_while_starting_is_replaced_by_a_new_one(
    flaky_gateway: tuple[GatewayProcess, Path],
) -> None:
    gateway, launches = flaky_gateway
    async with started_gateway_provider(gateway, kernel_name="flaky") as provider:
        sandbox = await provider.create()
        assert (await sandbox.run_code("6 * 7")).text == "42"
        assert launches.read_text() == "3"  # two failed launches of one kernel, then another
        listed = [record.sandbox_id for record in await provider.list_sessions()]
        assert listed == [sandbox.sandbox_id]
        await sandbox.close()


async def test_a_session_fails_clearly_when_new_kernels_keep_dying(tmp_path: Path) -> None:
    jupyter_path = tmp_path / "jupyter"
    launches = _kernel_failing_its_first_launches(jupyter_path, failures=100)
    gateway = GatewayProcess(
        tmp_path / "root", env={"JUPYTER_PATH": str(jupyter_path)}, options=QUICK_TO_GIVE_UP
    )
    await gateway.start()
    try:
        async with started_gateway_provider(gateway, kernel_name="flaky") as provider:
            with pytest.raises(SandboxStartError, match="2 new kernels in a row died"):
                await provider.create()
            assert await provider.list_sessions() == []
        assert launches.read_text() == "4"  # each of the two kernels: a launch and a restart
    finally:
        await gateway.stop()
