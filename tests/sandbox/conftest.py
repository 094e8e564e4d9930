"""One live local provider (one zygote) shared by the sandbox tests: starting it costs seconds.
The backend contract tests (`contract/`) run on it too, as the `local` backend.

Test modules that use it run on the session's event loop, where the zygote lives:
`pytestmark = pytest.mark.asyncio(loop_scope="session")`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox.local import LocalProvider, LocalSandbox, SandboxPool


def sandbox_settings(**overrides: object) -> SandboxSettings:
    defaults: dict[str, object] = {"pool_size": 2, "timeout": 30.0, "interrupt_grace": 2.0}
    defaults.update(overrides)
    return SandboxSettings(**defaults)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def local_provider(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalProvider]:
    root = tmp_path_factory.mktemp("sandboxes")
    async with LocalProvider(sandbox_settings(), root) as running:
        await running.wait_ready()
        yield running


@pytest.fixture(scope="session")
def pool(local_provider: LocalProvider) -> SandboxPool:
    return local_provider.pool


@pytest_asyncio.fixture(loop_scope="session")
async def sandbox(pool: SandboxPool) -> AsyncIterator[LocalSandbox]:
    acquired = await pool.acquire()
    yield acquired
    await acquired.close()
