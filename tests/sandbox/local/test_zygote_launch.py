"""A zygote launched ahead of need (`zygote_launch`, what `analyst exec` does before it reads
its settings): the next pool adopts it when it was launched as that pool would launch one,
configures it with what the settings decide, and ends it otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox_analyst.sandbox.local import SandboxPool
from sandbox_analyst.sandbox.local.zygote_launch import (
    PACKAGE_ROOT,
    adopt_launched,
    launch_ahead,
    launch_environment,
    launch_zygote,
)
from tests.fixtures.sandboxes import sandbox_settings


@pytest.mark.asyncio(loop_scope="session")
async def test_the_next_pool_adopts_it_and_configures_it_with_its_settings(
    tmp_path: Path,
) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "overlay_probe.py").write_text("ANSWER = 42\n")
    ahead = launch_ahead()

    settings = sandbox_settings(pool_size=0, preload=[], threads=3)
    async with SandboxPool(settings, tmp_path / "root", import_paths=(str(overlay),)) as pool:
        assert pool.zygote_pid == ahead.process.pid
        sandbox = await pool.acquire()
        try:
            code = (
                "import json, os, sys, overlay_probe\n"
                "print(json.dumps([overlay_probe.ANSWER, os.environ['OMP_NUM_THREADS'],"
                f" sys.path.index({PACKAGE_ROOT!r}) < sys.path.index({str(overlay)!r})]))"
            )
            execution = await sandbox.run_code(code)
        finally:
            await sandbox.close()

    assert execution.error is None, execution.error
    assert json.loads(execution.logs.stdout[0]) == [42, "3", True]


@pytest.mark.asyncio(loop_scope="session")
async def test_one_launched_otherwise_than_the_pool_would_is_ended_not_adopted() -> None:
    ahead = launch_ahead()

    assert adopt_launched({**launch_environment(), "PYTHONHASHSEED": "0"}) is None
    assert ahead.process.poll() is not None
    assert adopt_launched(launch_environment()) is None  # nothing is left to adopt


def test_one_never_configured_exits_cleanly_when_its_control_socket_closes() -> None:
    launched = launch_zygote(launch_environment())
    launched.control.close()
    assert launched.process.wait(timeout=60) == 0


def test_it_is_launched_with_nothing_the_settings_decide() -> None:
    environment = launch_environment()
    assert not {"HOME", "MPLCONFIGDIR", "OMP_NUM_THREADS"} & set(environment)
    assert environment["PYTHONPATH"] == PACKAGE_ROOT
    assert environment["PYTHONNOUSERSITE"] == "1"
