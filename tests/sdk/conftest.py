"""The SDK's tests run real sandboxes from the local pool, configured the way a user does:
through the environment (`ANALYST_DATA_DIR`, `ANALYST_SANDBOX__*`). One manager stays open
for all of them (`resident`), so the managers the tests open share its zygote instead
of starting one each (they run on the session's event loop:
`pytestmark = pytest.mark.asyncio(loop_scope="session")`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from sandbox_analyst import SandboxManager

# Room for the resident manager and a few more: the retry tests fill it up.
MAX_SESSIONS = 3
SDK_ENVIRONMENT = {
    "ANALYST_SANDBOX__POOL_SIZE": "1",
    "ANALYST_SANDBOX__MAX_SESSIONS": str(MAX_SESSIONS),
    "ANALYST_SANDBOX__PRELOAD": '["numpy", "pandas", "matplotlib.pyplot"]',
    "ANALYST_SANDBOX__TIMEOUT": "30",
    "ANALYST_SANDBOX__INTERRUPT_GRACE": "2",
}


# Package scope: the environment is undone after the last SDK test, before other directories'.
@pytest.fixture(scope="package", autouse=True)
def sdk_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The data directory every manager of these tests uses, from the environment."""
    data_dir = tmp_path_factory.mktemp("sdk-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANALYST_DATA_DIR", str(data_dir))
        patch.chdir(tmp_path_factory.mktemp("sdk-cwd"))  # no analyst.yaml of the developer's
        for name, value in SDK_ENVIRONMENT.items():
            patch.setenv(name, value)
        yield data_dir


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def resident(sdk_environment: Path) -> AsyncIterator[SandboxManager]:
    async with SandboxManager() as manager:
        yield manager


@pytest_asyncio.fixture(loop_scope="session")
async def sm(resident: SandboxManager) -> AsyncIterator[SandboxManager]:
    """A fresh manager with the default settings, on the resident's pool."""
    async with SandboxManager() as manager:
        yield manager
