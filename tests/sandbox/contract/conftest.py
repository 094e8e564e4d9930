"""The backend contract: every backend's `SandboxProvider` and `Sandbox` behave as these tests
say, written against the interfaces only. `provider` runs each test once per backend in
`BACKENDS`: a backend joins by adding one entry, the name of a session-scoped fixture that
yields its started provider (`wait_ready()` done).

Tests run on the session's event loop: `pytestmark = pytest.mark.asyncio(loop_scope="session")`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from sandbox_analyst.sandbox import Sandbox, SandboxProvider
from tests.sandbox.gateway.conftest import started_gateway_provider
from tests.sandbox.gateway.gateway_process import GatewayProcess

# backend name -> fixture yielding a started provider of it
BACKENDS: dict[str, str] = {
    "local": "local_provider",  # tests/fixtures/sandboxes.py: the session's one zygote
    "gateway": "gateway_contract_provider",  # a real jupyter kernelgateway on 127.0.0.1
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


@pytest.fixture(scope="session", params=sorted(BACKENDS))
def provider(request: pytest.FixtureRequest) -> SandboxProvider:
    return request.getfixturevalue(BACKENDS[request.param])


@pytest_asyncio.fixture(loop_scope="session")
async def sandbox(provider: SandboxProvider) -> AsyncIterator[Sandbox]:
    created = await provider.create()
    yield created
    await created.close()
