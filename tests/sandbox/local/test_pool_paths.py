"""A pool started with extra import paths, read-only paths and variables (what a template's
build gives its sandboxes): the zygote preloads from them, workers read but never write them,
and the rest of a hidden directory stays hidden."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

from sandbox_analyst.sandbox.local import SandboxPool
from sandbox_analyst.sandbox.local.isolation import LayerName
from tests.fixtures.sandboxes import sandbox_settings


async def test_import_paths_read_paths_and_environment_reach_every_worker(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    site = data_dir / "templates" / "site"
    shared = data_dir / "templates" / "shared"
    site.mkdir(parents=True)
    shared.mkdir()
    (site / "overlay_module.py").write_text("ORIGIN = 'overlay'\n")
    (shared / "lexicon.txt").write_text("shared data")
    (data_dir / "analyst.db").write_text("secrets")
    pool = SandboxPool(
        sandbox_settings(pool_size=1, preload=["overlay_module"]),
        data_dir / "sandboxes",
        hidden_paths=(str(data_dir),),
        import_paths=(str(site),),
        read_paths=(str(shared),),
        environment={"LEXICON": str(shared / "lexicon.txt"), "PATH": "/evil"},
    )
    async with pool:
        await pool.wait_ready()  # the zygote preloads after it starts
        assert pool.preloaded == ["overlay_module"]
        sandbox = await pool.acquire()
        try:
            execution = await sandbox.run_code(
                "import os, overlay_module\n"
                "(overlay_module.ORIGIN, open(os.environ['LEXICON']).read(), os.environ['PATH'])"
            )
            assert execution.error is None, execution.error
            # The environment's PATH is the engine's own: the interpreter's directory, then the
            # system's, never what the caller passed.
            interpreter_bin = os.path.dirname(sys.executable)
            path = f"{interpreter_bin}:/usr/local/bin:/usr/bin:/bin"
            assert ast.literal_eval(execution.text) == ("overlay", "shared data", path)
            report = pool.isolation_report
            if report is not None and report.is_active(LayerName.FILESYSTEM):
                for code in (
                    "open(os.environ['LEXICON'], 'a').write('x')",
                    f"open({str(site / 'planted.py')!r}, 'w').write('x')",
                    f"open({str(data_dir / 'analyst.db')!r}).read()",
                ):
                    execution = await sandbox.run_code(code)
                    assert execution.error is not None, code
        finally:
            await sandbox.close()
