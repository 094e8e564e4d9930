"""The zygote serves sessions while it is still preloading: a session asked for early gets a
worker at once (its code imports what is not loaded yet), pooled workers wait for the whole
list, and what a library prints while a worker starts up does not fail the start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sandbox_analyst.sandbox.local import SandboxPool
from tests.fixtures.sandboxes import sandbox_settings

# Imported by the zygote; blocks its preloading until the test creates the file named GATE.
GATE_MODULE = """
import os, time
while not os.path.exists({gate!r}):
    time.sleep(0.02)
"""

# Imported by the zygote; every worker forked from it then prints while it starts up, as
# matplotlib does when it builds its font cache on import.
NOISY_MODULE = """
import sys
from sandbox_analyst.sandbox.local.worker import figures

_install = figures.FigureCapture.install

def _noisy_install(self):
    print("Matplotlib is building the font cache; this may take a moment.", file=sys.stderr)
    sys.stderr.flush()
    _install(self)

figures.FigureCapture.install = _noisy_install
"""


def overlay(tmp_path: Path, **modules: str) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    for name, source in modules.items():
        (site / f"{name}.py").write_text(source)
    return site


async def test_a_session_asked_for_while_preloading_gets_a_worker_and_can_use_pandas(
    tmp_path: Path,
) -> None:
    gate = tmp_path / "open"
    site = overlay(tmp_path, gate_module=GATE_MODULE.format(gate=str(gate)))
    pool = SandboxPool(
        sandbox_settings(pool_size=1, preload=["gate_module", "pandas"]),
        tmp_path / "sandboxes",
        import_paths=(str(site),),
    )
    async with pool:
        assert pool.preloading
        assert pool.preloaded == []
        acquiring = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0)  # the spawn request is sent: the zygote sees it next
        gate.touch()
        sandbox = await acquiring
        try:
            loaded = await sandbox.run_code("import sys\n'pandas' in sys.modules")
            assert loaded.text == "False"  # forked before the zygote got to pandas
            execution = await sandbox.run_code(
                "import pandas as pd\nint(pd.DataFrame({'a': [1, 2, 3]})['a'].sum())"
            )
            assert execution.error is None, execution.error
            assert execution.text == "6"
        finally:
            await sandbox.close()

        await pool.wait_ready()
        assert not pool.preloading
        assert pool.preloaded == ["gate_module", "pandas"]
        pooled = await pool.acquire()  # a pooled worker: forked after the whole list
        try:
            loaded = await pooled.run_code("import sys\n'pandas' in sys.modules")
            assert loaded.text == "True"
        finally:
            await pooled.close()


async def test_pooled_workers_wait_for_the_whole_preload_list(tmp_path: Path) -> None:
    gate = tmp_path / "open"
    site = overlay(tmp_path, gate_module=GATE_MODULE.format(gate=str(gate)))
    pool = SandboxPool(
        sandbox_settings(pool_size=2, preload=["gate_module"]),
        tmp_path / "sandboxes",
        import_paths=(str(site),),
    )
    async with pool:
        filling = asyncio.create_task(pool.wait_ready())
        await asyncio.sleep(0.5)  # whatever the pool does meanwhile, it forks nothing yet
        assert pool.ready_count == 0
        assert not filling.done()
        gate.touch()
        await filling
        assert pool.ready_count == 2
        assert pool.preloaded == ["gate_module"]


async def test_output_while_a_worker_starts_up_does_not_fail_its_start(tmp_path: Path) -> None:
    site = overlay(tmp_path, noisy_module=NOISY_MODULE)
    pool = SandboxPool(
        sandbox_settings(pool_size=0, preload=["noisy_module"]),
        tmp_path / "sandboxes",
        import_paths=(str(site),),
    )
    async with pool:
        sandbox = await pool.acquire()
        try:
            execution = await sandbox.run_code("1 + 1")
            assert execution.error is None, execution.error
            assert execution.text == "2"
            # It belonged to no execution: the first one's output does not include it.
            assert execution.logs.stderr == []
        finally:
            await sandbox.close()


async def test_a_worker_does_not_import_matplotlib_unless_its_code_does(tmp_path: Path) -> None:
    pool = SandboxPool(sandbox_settings(pool_size=0, preload=[]), tmp_path / "sandboxes")
    async with pool:
        sandbox = await pool.acquire()
        try:
            loaded = await sandbox.run_code("import sys\n'matplotlib' in sys.modules")
            assert loaded.text == "False"
            # Figures still come back as PNG once the code imports matplotlib itself.
            chart = await sandbox.run_code(
                "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()"
            )
            assert chart.error is None, chart.error
            assert [result.png is not None for result in chart.results] == [True]
        finally:
            await sandbox.close()
