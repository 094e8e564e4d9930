"""A template's build used by real local sandboxes: its packages import, its data is readable
but not writable, its variables are set, and an approved install lands in a session's overlay
on top of it. The rest of the data directory stays hidden."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from sandbox_analyst.sandbox.local import SandboxPool
from sandbox_analyst.sandbox.local.isolation import LayerName
from sandbox_analyst.sandbox.templates import (
    AllowList,
    BuildStore,
    PackageInstaller,
    TemplateBuilder,
    TemplateCatalog,
    UvRunner,
    WheelCache,
)
from tests.fixtures.sandboxes import sandbox_settings
from tests.sandbox.templates.conftest import ProbeIndex, write_template

PROBE = """\
description: probe
packages: [analyst-probe==1.0]
setup: |
  import pathlib
  pathlib.Path("lexicon.txt").write_text("unpacked at build time")
env: {PROBE_LEXICON: "${TEMPLATE_DATA}/lexicon.txt"}
preload: [analyst_probe]
"""


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def template_pool(
    tmp_path_factory: pytest.TempPathFactory, probe_index: ProbeIndex, uv_cache: Path
) -> AsyncIterator[SandboxPool]:
    """One pool for the module: starting a zygote costs seconds."""
    uv_runner = UvRunner(probe_index.packages, cache_dir=uv_cache)
    data_dir = tmp_path_factory.mktemp("template-sandboxes") / "data"
    (data_dir / "analyst.db").parent.mkdir(parents=True)
    (data_dir / "analyst.db").write_text("every user's secrets")
    store = BuildStore(data_dir / "templates")
    catalog = TemplateCatalog(data_dir / "templates", store, TemplateBuilder(store, uv_runner))
    write_template(catalog.templates_dir, "probe.yaml", PROBE)
    catalog.build(["probe"])
    runtime = catalog.runtime("probe")
    # An approved install for one session, on top of what the template holds.
    session_overlay = data_dir / "packages" / "session-1"
    installer = PackageInstaller(uv_runner, WheelCache(data_dir / "wheels"))
    installed = installer.install(
        "analyst-extra",
        allow=AllowList(("analyst-extra",)),
        overlay=session_overlay,
        layers=[Path(path) for path in runtime.import_paths],
    )
    installer.close()
    assert [wheel.name for wheel in installed.wheels] == ["analyst-extra"]  # the dep: template's
    pool = SandboxPool(
        runtime.sandbox_settings(sandbox_settings(pool_size=1)),
        data_dir / "sandboxes",
        hidden_paths=(str(data_dir),),
        import_paths=(*runtime.import_paths, str(session_overlay)),
        read_paths=runtime.read_paths,
        environment=runtime.environment,
    )
    async with pool:
        yield pool
    runtime.release()


async def test_a_templates_packages_data_and_variables_reach_its_sandboxes(
    template_pool: SandboxPool,
) -> None:
    assert template_pool.preloaded == ["analyst_probe"]
    sandbox = await template_pool.acquire()
    try:
        execution = await sandbox.run_code(
            "import analyst_probe, analyst_extra\n"
            "(analyst_probe.VALUE, analyst_probe.DEP, analyst_extra.EXTRA)"
        )
        assert execution.error is None
        assert execution.text == "('probe 1.0', 'dep 1.0', 'extra 1.0')"
        execution = await sandbox.run_code("import os; open(os.environ['PROBE_LEXICON']).read()")
        assert execution.text == "'unpacked at build time'"
        # Python processes the user's code starts see the same packages.
        execution = await sandbox.run_code(
            "import subprocess, sys\n"
            "code = 'import analyst_extra; print(analyst_extra.EXTRA)'\n"
            "subprocess.run([sys.executable, '-c', code], capture_output=True, text=True).stdout"
        )
        assert execution.text == "'extra 1.0\\n'"
    finally:
        await sandbox.close()


async def test_a_templates_files_are_read_only_and_the_data_dir_stays_hidden(
    template_pool: SandboxPool,
) -> None:
    report = template_pool.isolation_report
    if report is None or not report.is_active(LayerName.FILESYSTEM):
        pytest.skip("the mount namespace layer is not in force here")
    sandbox = await template_pool.acquire()
    try:
        execution = await sandbox.run_code(
            "import os; open(os.environ['PROBE_LEXICON'], 'a').write('tampered')"
        )
        assert execution.error is not None
        assert execution.error.name in ("PermissionError", "OSError")
        execution = await sandbox.run_code(
            "import analyst_probe, pathlib\n"
            "site = pathlib.Path(analyst_probe.__file__).parents[1]\n"
            "(site / 'evil.py').write_text('')"
        )
        assert execution.error is not None
        secret = template_pool.hidden_paths[1] + "/analyst.db"
        execution = await sandbox.run_code(f"open({secret!r}).read()")
        assert execution.error is not None
        assert execution.error.name == "FileNotFoundError"
    finally:
        await sandbox.close()
