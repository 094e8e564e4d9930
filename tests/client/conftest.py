"""The client against the real service: one embedded server (single-user, real sandboxes,
the scripted fake LLM) shared by the session, and multi-user servers where keys matter.
Nothing is mocked in between. Tests share the session's event loop with the server:
`pytestmark = pytest.mark.asyncio(loop_scope="session")`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio

from sandbox_analyst.api import create_app
from sandbox_analyst.client import AnalystClient, EmbeddedServer, embedded_server
from sandbox_analyst.config import LLMSettings, SandboxSettings, Settings
from sandbox_analyst.testing import FakeLLMServer
from tests.conftest import fresh_database, uvicorn_on_loopback

SANDBOX = SandboxSettings(
    pool_size=1, timeout=30.0, interrupt_grace=2.0, preload=["pandas", "matplotlib.pyplot"]
)


def analyst_settings(directory: Path, database_url: str, fake: FakeLLMServer) -> Settings:
    """Settings whose model is the fake LLM server."""
    return Settings(
        data_dir=directory / "data",
        database_url=database_url,
        sandbox=SANDBOX,
        llm=LLMSettings(
            base_url=fake.openai_base_url,
            api_key="test-key",
            model="test-model",
            retry_backoff=0.001,
            timeout=30.0,
        ),
    )


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def embedded(
    tmp_path_factory: pytest.TempPathFactory, fake: FakeLLMServer
) -> AsyncIterator[EmbeddedServer]:
    directory = tmp_path_factory.mktemp("embedded")
    with fresh_database(directory) as url:
        async with embedded_server(analyst_settings(directory, url, fake)) as server:
            yield server


@pytest_asyncio.fixture(loop_scope="session")
async def client(embedded: EmbeddedServer) -> AsyncIterator[AnalystClient]:
    async with AnalystClient(embedded.url, embedded.api_key) as analyst:
        yield analyst


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    """`create_app(settings)` (multi-user unless the settings say otherwise) under uvicorn on
    127.0.0.1 in the current event loop; yields its URL."""
    app = create_app(settings)
    async with app.router.lifespan_context(app), uvicorn_on_loopback(app) as url:
        yield url
