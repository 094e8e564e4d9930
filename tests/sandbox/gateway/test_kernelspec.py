"""The shipped kernelspec: a kernel that starts with our bootstrap loaded and the default
template's libraries imported, served by a real kernel gateway."""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from sandbox_analyst.sandbox.gateway import GatewayProvider
from sandbox_analyst.sandbox.gateway.kernelspec import write_kernelspec
from tests.sandbox.gateway.conftest import started_gateway_provider
from tests.sandbox.gateway.gateway_process import GatewayProcess


@pytest_asyncio.fixture
async def analyst_kernel_provider(tmp_path: Path) -> AsyncIterator[GatewayProvider]:
    jupyter_path = tmp_path / "jupyter"
    write_kernelspec(jupyter_path / "kernels" / "analyst-python", python=sys.executable)
    gateway = GatewayProcess(tmp_path / "root", env={"JUPYTER_PATH": str(jupyter_path)})
    await gateway.start()
    try:
        async with started_gateway_provider(gateway, kernel_name="analyst-python") as provider:
            yield provider
    finally:
        await gateway.stop()


def test_the_kernelspec_names_our_start_up_and_environment(tmp_path: Path) -> None:
    written = write_kernelspec(tmp_path / "spec")
    spec = json.loads((written / "kernel.json").read_text())
    assert spec["argv"][:3] == ["python", "-m", "ipykernel_launcher"]
    assert "--IPKernelApp.exec_files={resource_dir}/sandbox_analyst_startup.py" in spec["argv"]
    assert spec["env"]["MPLBACKEND"] == "module://_sandbox_analyst_kernel"
    assert "pandas" in spec["env"]["ANALYST_KERNEL_PRELOAD"].split(",")
    assert (written / "_sandbox_analyst_kernel.py").is_file()


async def test_kernels_of_the_kernelspec_start_with_bootstrap_and_libraries(
    analyst_kernel_provider: GatewayProvider,
) -> None:
    sandbox = await analyst_kernel_provider.create()
    execution = await sandbox.run_code(
        "import sys\n"
        "module = sys.modules['_sandbox_analyst_kernel']\n"
        "(getattr(module, '__file__', None) or '', 'pandas' in sys.modules, "
        "'numpy' in dir(), sys.modules['matplotlib'].get_backend())"
    )
    assert execution.error is None
    loaded_from, pandas_loaded, leaked, backend = ast.literal_eval(execution.text or "")
    assert loaded_from.endswith("analyst-python/_sandbox_analyst_kernel.py")
    assert pandas_loaded  # imported at kernel start, before this session's first cell
    assert not leaked  # the start-up left no names in the user's namespace
    assert backend == "module://_sandbox_analyst_kernel"
    figure = await sandbox.run_code(
        "import matplotlib.pyplot as plt\nfig = plt.figure(); plt.plot([1, 2]); fig"
    )
    assert [bool(result.png) for result in figure.results] == [True]
