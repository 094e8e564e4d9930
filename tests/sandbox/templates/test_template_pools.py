"""Templates in use by the local provider: each template gets its own zygote and pool, started
on its first session and ended when idle; a rebuild serves new sessions while the old build's
sessions keep running; an unknown or unbuilt template is a clear error."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from sandbox_analyst.sandbox import SessionSpec
from sandbox_analyst.sandbox.local import LocalProvider
from sandbox_analyst.sandbox.templates import (
    BuildStore,
    TemplateBuilder,
    TemplateCatalog,
    TemplateNotBuiltError,
    TemplateNotFoundError,
    UvRunner,
)
from tests.fixtures.sandboxes import sandbox_settings
from tests.sandbox.templates.conftest import ProbeIndex, write_template

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def catalog(
    tmp_path_factory: pytest.TempPathFactory, probe_index: ProbeIndex, uv_cache: Path
) -> TemplateCatalog:
    data_dir = tmp_path_factory.mktemp("template-pools")
    store = BuildStore(data_dir / "templates")
    uv_runner = UvRunner(probe_index.packages, cache_dir=uv_cache)
    catalog = TemplateCatalog(data_dir / "templates", store, TemplateBuilder(store, uv_runner))
    write_template(catalog.templates_dir, "alpha.yaml", "packages: [analyst-probe==1.0]\n")
    write_template(catalog.templates_dir, "beta.yaml", "packages: [analyst-extra]\n")
    catalog.build(["alpha", "beta"])
    return catalog


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def provider(
    tmp_path_factory: pytest.TempPathFactory, catalog: TemplateCatalog
) -> AsyncIterator[LocalProvider]:
    settings = sandbox_settings(pool_size=1, preload=[])
    root = tmp_path_factory.mktemp("template-pool-sessions")
    async with LocalProvider(settings, root, templates=catalog) as running:
        yield running


async def imports(sandbox, module: str) -> str:
    execution = await sandbox.run_code(f"import {module}\n{module}.__name__")
    return execution.error.name if execution.error else "ok"


async def test_two_templates_run_at_once_each_in_its_own_pool(provider: LocalProvider) -> None:
    assert provider.pools.live() == []  # nothing started before a template's first session
    alpha = await provider.create(SessionSpec(template="alpha"))
    beta = await provider.create(SessionSpec(template="beta"))
    plain = await provider.create()
    try:
        assert (alpha.template, beta.template, plain.template) == ("alpha", "beta", "default")
        assert await imports(alpha, "analyst_probe") == "ok"
        assert await imports(alpha, "analyst_extra") == "ModuleNotFoundError"
        assert await imports(beta, "analyst_extra") == "ok"
        assert await imports(beta, "analyst_probe") == "ModuleNotFoundError"
        assert await imports(plain, "probe_dep") == "ModuleNotFoundError"
        pools = (await provider.health()).facts["template_pools"]
        assert sorted(pool["template"] for pool in pools) == ["alpha", "beta"]
        zygotes = {pool["zygote_pid"] for pool in pools} | {provider.pool.zygote_pid}
        assert len(zygotes) == 3
        records = {record.sandbox_id: record.template for record in await provider.list_sessions()}
        assert records[alpha.sandbox_id] == "alpha"
        assert records[beta.sandbox_id] == "beta"
    finally:
        for sandbox in (alpha, beta, plain):
            await provider.end(sandbox.sandbox_id)


async def test_an_unknown_or_unbuilt_template_is_a_clear_error(
    provider: LocalProvider, catalog: TemplateCatalog
) -> None:
    with pytest.raises(TemplateNotFoundError, match=r"'nope' \(known: default, alpha, beta\)"):
        await provider.create(SessionSpec(template="nope"))
    write_template(catalog.templates_dir, "gamma.yaml", "packages: [analyst-extra]\n")
    try:
        with pytest.raises(TemplateNotBuiltError, match="analyst templates build gamma"):
            await provider.create(SessionSpec(template="gamma"))
    finally:
        (catalog.templates_dir / "gamma.yaml").unlink()


async def test_after_a_rebuild_new_sessions_get_the_new_build_and_old_ones_keep_running(
    provider: LocalProvider, catalog: TemplateCatalog
) -> None:
    old = await provider.create(SessionSpec(template="alpha"))
    await old.run_code("import analyst_probe\nkept = 'state'")
    old_build = catalog.store.current("alpha").info.build_id
    write_template(catalog.templates_dir, "alpha.yaml", "packages: [analyst-probe==2.0]\n")
    catalog.build(["alpha"])
    new = await provider.create(SessionSpec(template="alpha"))
    try:
        assert (await new.run_code("import analyst_probe\nanalyst_probe.VALUE")).text == (
            "'probe 2.0'"
        )
        # The old session is untouched: its interpreter, its variables, its build's files.
        execution = await old.run_code("import importlib\n(analyst_probe.VALUE, kept)")
        assert execution.text == "('probe 1.0', 'state')"
        execution = await old.run_command("python3 -c 'import analyst_probe'")
        assert execution.exit_code == 0
        builds = [pool["build"] for pool in (await provider.health()).facts["template_pools"]]
        assert old_build in builds
        assert await provider.pools.end_idle() == []  # the old build still has a session
    finally:
        await provider.end(old.sandbox_id)
        await provider.end(new.sandbox_id)
    ended = await provider.pools.end_idle()
    assert [(entry.template, entry.build_id) for entry in ended] == [("alpha", old_build)]


async def test_a_template_pool_without_sessions_is_ended_and_started_again_on_demand(
    provider: LocalProvider,
) -> None:
    sandbox = await provider.create(SessionSpec(template="beta"))
    (pool,) = [entry for entry in provider.pools.live() if entry.template == "beta"]
    zygote = pool.pool.zygote_pid
    ended = await provider.pools.end_idle(idle_for=0)
    assert "beta" not in [entry.template for entry in ended]  # a session lives: not idle
    await provider.end(sandbox.sandbox_id)
    ended = await provider.pools.end_idle(idle_for=0)
    assert "beta" in [entry.template for entry in ended]
    assert "beta" not in [entry.template for entry in provider.pools.live()]
    with pytest.raises(ProcessLookupError):
        os.kill(zygote, 0)
    again = await provider.create(SessionSpec(template="beta"))
    try:
        assert await imports(again, "analyst_extra") == "ok"
    finally:
        await provider.end(again.sandbox_id)
