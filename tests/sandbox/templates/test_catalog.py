"""The catalog: the built-in default plus one template per file, their build states, removal
rules, and the runtime (import paths, data, environment, limits) a pool starts with."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox.templates import (
    DEFAULT_TEMPLATE,
    BuildStore,
    TemplateBuilder,
    TemplateCatalog,
    TemplateInUseError,
    TemplateNotBuiltError,
    TemplateNotFoundError,
    TemplateProtectedError,
    TemplateSpecError,
    UvRunner,
)
from tests.sandbox.templates.conftest import write_template

PROBE = """\
description: Probe analysis
packages: [analyst-probe==1.0]
env: {PROBE_HOME: "${TEMPLATE_DATA}"}
preload: [analyst_probe]
limits: {timeout: 45, memory_mb: 1024}
"""


@pytest.fixture
def catalog(tmp_path: Path, uv_runner: UvRunner) -> TemplateCatalog:
    store = BuildStore(tmp_path / "data" / "templates")
    return TemplateCatalog(
        tmp_path / "data" / "templates",
        store,
        TemplateBuilder(store, uv_runner),
        default_preload=["numpy", "pandas"],
    )


def states(catalog: TemplateCatalog) -> dict[str, str]:
    return {status.name: status.state for status in catalog.statuses()}


def test_default_is_always_listed_first_as_the_servers_environment(
    catalog: TemplateCatalog,
) -> None:
    [default] = catalog.statuses()
    assert (default.name, default.state) == (DEFAULT_TEMPLATE, "built-in")
    assert default.package_count is not None
    assert default.package_count > 50
    assert default.size_bytes is not None
    assert default.size_bytes > 0
    assert catalog.spec(DEFAULT_TEMPLATE).preload == ["numpy", "pandas"]
    runtime = catalog.runtime(DEFAULT_TEMPLATE)
    assert (runtime.import_paths, runtime.read_paths, runtime.environment) == ((), (), {})
    with pytest.raises(TemplateProtectedError):
        catalog.build([DEFAULT_TEMPLATE])
    with pytest.raises(TemplateProtectedError):
        catalog.remove(DEFAULT_TEMPLATE, force=True)


def test_states_follow_the_files_and_their_builds(catalog: TemplateCatalog) -> None:
    specs = catalog.templates_dir
    write_template(specs, "probe.yaml", PROBE)
    write_template(specs, "broken.toml", 'description = "x"\n[limits]\ntimeout = 0\n')
    assert states(catalog) == {"default": "built-in", "broken": "invalid", "probe": "not built"}
    broken = catalog.status("broken")
    assert broken.error is not None
    assert "broken.toml:3" in broken.error

    with pytest.raises(TemplateSpecError, match=r"broken\.toml:3"):
        catalog.build()  # every file is read before anything is built
    assert catalog.status("probe").state == "not built"

    [outcome] = catalog.build(["probe"])
    status = catalog.status("probe")
    assert (status.state, status.package_count, status.build) == ("built", 2, outcome.build)
    assert status.size_bytes is not None
    assert status.size_bytes > 0

    write_template(specs, "probe.yaml", PROBE.replace("Probe analysis", "Probe, reworded"))
    assert catalog.status("probe").state == "outdated"
    write_template(specs, "probe.toml", 'description = "a twin"\n')
    with pytest.raises(TemplateSpecError, match="defined twice"):
        catalog.spec("probe")


def test_the_runtime_of_a_template_holds_its_build_until_released(
    catalog: TemplateCatalog,
) -> None:
    write_template(catalog.templates_dir, "probe.yaml", PROBE)
    with pytest.raises(TemplateNotBuiltError, match="analyst templates build probe"):
        catalog.runtime("probe")
    [first] = catalog.build(["probe"])
    runtime = catalog.runtime("probe")
    build = first.build
    assert runtime.import_paths == (str(build.site_dir),)
    assert runtime.read_paths == (str(build.data_dir),)
    assert runtime.environment == {"PROBE_HOME": str(build.data_dir)}
    settings = runtime.sandbox_settings(SandboxSettings(timeout=120, disk_quota_mb=99))
    assert (
        settings.preload,
        settings.timeout,
        settings.memory_limit_mb,
        settings.disk_quota_mb,
    ) == (
        ["analyst_probe"],
        45,
        1024,
        99,
    )
    write_template(catalog.templates_dir, "probe.yaml", PROBE.replace("1.0", "2.0"))
    catalog.build(["probe"])
    assert build.path.exists()  # still leased by the runtime
    runtime.release()
    assert catalog.collect_garbage() == [build.info.build_id]
    assert not build.path.exists()
    with pytest.raises(TemplateNotFoundError, match="known: default, probe"):
        catalog.runtime("nope")


def test_removal_refuses_what_is_in_use_unless_forced(catalog: TemplateCatalog) -> None:
    path = write_template(catalog.templates_dir, "probe.yaml", PROBE)
    [outcome] = catalog.build(["probe"])
    with pytest.raises(TemplateInUseError, match="used by sales-bot"):
        catalog.remove("probe", used_by=["sales-bot"])
    runtime = catalog.runtime("probe")
    with pytest.raises(TemplateInUseError, match="running sandboxes"):
        catalog.remove("probe")
    assert path.exists()

    removed = catalog.remove("probe", force=True)
    assert removed.removed_file == path
    assert not path.exists()
    assert removed.kept_builds == (outcome.build.info.build_id,)
    assert outcome.build.site_dir.is_dir()  # the running sessions keep their files
    assert states(catalog) == {"default": "built-in", "probe": "removed"}

    runtime.release()
    assert catalog.collect_garbage() == [outcome.build.info.build_id]
    assert states(catalog) == {"default": "built-in"}
    assert not catalog.store.template_dir("probe").exists()
    with pytest.raises(TemplateNotFoundError):
        catalog.remove("probe")


def test_removal_can_keep_the_file(catalog: TemplateCatalog) -> None:
    path = write_template(catalog.templates_dir, "probe.yaml", PROBE)
    [outcome] = catalog.build(["probe"])
    removed = catalog.remove("probe", keep_file=True)
    assert removed.removed_builds == (outcome.build.info.build_id,)
    assert path.exists()
    assert catalog.status("probe").state == "not built"
