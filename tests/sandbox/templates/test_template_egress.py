"""Egress per template and per session: each may only narrow `sandbox.egress.allow` (a
connection must pass every list), never widen it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from sandbox_analyst.sandbox import SessionSpec
from sandbox_analyst.sandbox.egress import EgressPolicyError
from sandbox_analyst.sandbox.local import LocalProvider, LocalSandbox
from sandbox_analyst.sandbox.local.isolation import LayerName
from sandbox_analyst.sandbox.templates import (
    BuildStore,
    TemplateBuilder,
    TemplateCatalog,
    UvRunner,
)
from tests.fixtures.egress import hello_servers
from tests.fixtures.sandboxes import sandbox_settings
from tests.sandbox.templates.conftest import ProbeIndex, write_template

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def hosts() -> Iterator[tuple[int, ...]]:
    """Three HTTP servers on 127.0.0.1: the server lists the first two."""
    with hello_servers(3) as ports:
        yield ports


@pytest.fixture(scope="module")
def catalog(
    tmp_path_factory: pytest.TempPathFactory,
    probe_index: ProbeIndex,
    uv_cache: Path,
    hosts: tuple[int, ...],
) -> TemplateCatalog:
    data_dir = tmp_path_factory.mktemp("template-egress")
    store = BuildStore(data_dir / "templates")
    uv_runner = UvRunner(probe_index.packages, cache_dir=uv_cache)
    catalog = TemplateCatalog(data_dir / "templates", store, TemplateBuilder(store, uv_runner))
    first, _, third = hosts
    # Lists the server's first host and one the server does not list.
    allow = f"['127.0.0.1:{first}', '127.0.0.1:{third}']"
    write_template(catalog.templates_dir, "narrow.yaml", f"egress:\n  allow: {allow}\n")
    write_template(catalog.templates_dir, "sealed.yaml", "egress:\n  allow: []\n")
    catalog.build(["narrow", "sealed"])
    return catalog


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def provider(
    tmp_path_factory: pytest.TempPathFactory,
    catalog: TemplateCatalog,
    hosts: tuple[int, ...],
) -> AsyncIterator[LocalProvider]:
    first, second, _ = hosts
    settings = sandbox_settings(
        pool_size=1,
        preload=[],
        egress={"allow": [f"127.0.0.1:{first}", f"127.0.0.1:{second}"]},
    )
    root = tmp_path_factory.mktemp("template-egress-sessions")
    async with LocalProvider(settings, root, templates=catalog) as running:
        report = running.pool.isolation_report
        if report is None or not report.layer(LayerName.NETWORK).active:
            pytest.skip("controlled egress needs the network namespace layer")
        yield running


async def reaches(sandbox: LocalSandbox, port: int) -> str:
    execution = await sandbox.run_code(
        "import urllib.request\n"
        f"urllib.request.urlopen('http://127.0.0.1:{port}/', timeout=10).read().decode()"
    )
    return execution.text if execution.error is None else execution.error.value


async def test_a_template_narrows_the_servers_list_and_cannot_widen_it(
    provider: LocalProvider, hosts: tuple[int, ...]
) -> None:
    first, second, third = hosts
    plain = await provider.create()
    narrow = await provider.create(SessionSpec(template="narrow"))
    try:
        assert [await reaches(plain, port) for port in (first, second)] == ["'hello'"] * 2
        assert await reaches(narrow, first) == "'hello'"
        refused = await reaches(narrow, second)
        assert f"127.0.0.1:{second} is not in the egress allow-list" in refused
        # Listed by the template only: the server's list still says no.
        assert "is not in the egress allow-list" in await reaches(narrow, third)
    finally:
        await plain.close()
        await narrow.close()


async def test_a_template_with_an_empty_list_gets_no_network(
    provider: LocalProvider, hosts: tuple[int, ...]
) -> None:
    sealed = await provider.create(SessionSpec(template="sealed"))
    try:
        execution = await sealed.run_code("import os\n'HTTP_PROXY' in os.environ")
        assert execution.text == "False"
        refused = await reaches(sealed, hosts[0])
        assert "Errno" in refused  # no proxy to ask: the namespace has no route anywhere
    finally:
        await sealed.close()


async def test_a_session_narrows_its_templates_list(
    provider: LocalProvider, hosts: tuple[int, ...]
) -> None:
    first, second, _ = hosts
    only_second = await provider.create(SessionSpec(egress=(f"127.0.0.1:{second}",)))
    nothing = await provider.create(SessionSpec(egress=()))
    try:
        assert await reaches(only_second, second) == "'hello'"
        assert "not in the egress allow-list" in await reaches(only_second, first)
        refused = await reaches(nothing, first)
        assert "egress is off for this sandbox" in refused
        assert "sandbox.egress.allow" in refused
    finally:
        await only_second.close()
        await nothing.close()


async def test_a_bad_session_entry_is_refused_before_a_session_is_taken(
    provider: LocalProvider,
) -> None:
    before = len(await provider.list_sessions())
    with pytest.raises(EgressPolicyError, match="session egress: egress entry 'nowhere'"):
        await provider.create(SessionSpec(egress=("nowhere",)))
    assert len(await provider.list_sessions()) == before
