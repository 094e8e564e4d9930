"""The client against the real service: the session's embedded server (single-user, real
sandboxes, the scripted fake LLM: tests/fixtures/embedded.py), and multi-user servers
(`serving`) where keys matter. Nothing is mocked in between. Tests share the session's event
loop with the server: `pytestmark = pytest.mark.asyncio(loop_scope="session")`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from sandbox_analyst.api import EmbeddedServer
from sandbox_analyst.client import AnalystClient
from sandbox_analyst.testing import FakeLLMServer


@pytest.fixture(scope="session")
def fake(embedded_fake: FakeLLMServer) -> FakeLLMServer:
    """The embedded server's model."""
    return embedded_fake


@pytest_asyncio.fixture(loop_scope="session")
async def client(embedded: EmbeddedServer) -> AsyncIterator[AnalystClient]:
    async with AnalystClient(embedded.url, embedded.api_key) as analyst:
        yield analyst
