"""The backend contract: every backend's `SandboxProvider` and `Sandbox` behave as these tests
say, written against the interfaces only. `provider` runs each test once per backend in
`BACKENDS`: a backend joins by adding one entry, the name of a session-scoped fixture that
yields its started provider (`wait_ready()` done). A test that cannot hold on a backend says so
with `@pytest.mark.cannot_hold(backend, reason)`: it then runs there as a strict xfail.

Tests run on the session's event loop: `pytestmark = pytest.mark.asyncio(loop_scope="session")`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from sandbox_analyst.sandbox import Sandbox, SandboxProvider
from tests.sandbox.e2b.conftest import e2b_server, started_e2b_provider
from tests.sandbox.gateway.conftest import started_gateway_provider
from tests.sandbox.gateway.gateway_process import GatewayProcess

# backend name -> fixture yielding a started provider of it
BACKENDS: dict[str, str] = {
    "local": "local_provider",  # tests/fixtures/sandboxes.py: the session's one zygote
    "gateway": "gateway_contract_provider",  # a real jupyter kernelgateway on 127.0.0.1
    "e2b": "e2b_contract_provider",  # E2B's SDK against our own E2B API on 127.0.0.1
}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def gateway_contract_provider(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[SandboxProvider]:
    gateway = GatewayProcess(tmp_path_factory.mktemp("contract-gateway") / "root")
    await gateway.start()
    try:
        async with started_gateway_provider(gateway) as provider:
            await provider.wait_ready()
            yield provider
    finally:
        await gateway.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def e2b_contract_provider(
    tmp_path_factory: pytest.TempPathFactory, local_provider: SandboxProvider
) -> AsyncIterator[SandboxProvider]:
    """Our E2B API on 127.0.0.1, serving sandboxes of the local backend's pool."""
    async with (
        e2b_server(tmp_path_factory.mktemp("contract-e2b"), local_provider) as server,
        started_e2b_provider(server) as provider,
    ):
        yield provider


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cannot_hold(backend, reason): this contract test cannot hold on `backend`, for "
        "`reason`; it must fail there (strict xfail), so that a backend that learns to keep "
        "it is noticed",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("provider") if callspec is not None else None
        for mark in item.iter_markers("cannot_hold"):
            if backend == mark.args[0]:
                reason = f"cannot hold on {backend}: {mark.args[1]}"
                item.add_marker(pytest.mark.xfail(reason=reason, strict=True))


@pytest.fixture(scope="session", params=sorted(BACKENDS))
def provider(request: pytest.FixtureRequest) -> SandboxProvider:
    return request.getfixturevalue(BACKENDS[request.param])


@pytest_asyncio.fixture(loop_scope="session")
async def sandbox(provider: SandboxProvider) -> AsyncIterator[Sandbox]:
    created = await provider.create()
    yield created
    await created.close()
