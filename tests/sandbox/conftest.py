"""One live pool (one zygote) shared by the sandbox tests: starting it costs seconds.

Test modules that use it run on the session's event loop, where the pool lives:
`pytestmark = pytest.mark.asyncio(loop_scope="session")`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox import LocalSandbox, SandboxPool


def sandbox_settings(**overrides: object) -> SandboxSettings:
    defaults: dict[str, object] = {"pool_size": 2, "timeout": 30.0, "interrupt_grace": 2.0}
    defaults.update(overrides)
    return SandboxSettings(**defaults)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pool(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SandboxPool]:
    root = tmp_path_factory.mktemp("sandboxes")
    async with SandboxPool(sandbox_settings(), root) as running:
        await running.wait_ready()
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def sandbox(pool: SandboxPool) -> AsyncIterator[LocalSandbox]:
    acquired = await pool.acquire()
    yield acquired
    await acquired.close()
