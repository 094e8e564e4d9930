"""Fixtures of the E2B backend's tests: this project's own E2B-compatible server (the real
app, a fresh database, a real uvicorn on 127.0.0.1) in front of the local sandbox pool, and
E2B providers pointed at it the way an operator would (`sandbox.e2b.api_key`, `api_url`,
`sandbox_url`). Nothing reaches E2B's cloud.

`e2b_server()` is what the contract suite's `e2b` backend runs on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from sandbox_analyst.api import create_app
from sandbox_analyst.api.e2b import create_e2b_app
from sandbox_analyst.config import SandboxSettings, Settings
from sandbox_analyst.sandbox import SandboxProvider, SessionManager
from sandbox_analyst.sandbox.e2b import E2BProvider, E2BSandbox
from sandbox_analyst.service import Services
from tests.conftest import fresh_database, uvicorn_on_loopback

# The server's own limits: room for the contract's twenty concurrent sessions, one user.
SERVER_SANDBOX = SandboxSettings(
    timeout=60.0, interrupt_grace=2.0, max_sessions=64, max_sessions_per_user=48
)


@dataclass(frozen=True)
class E2BServer:
    url: str
    api_key: str
    services: Services


@asynccontextmanager
async def e2b_server(root: Path, provider: SandboxProvider) -> AsyncIterator[E2BServer]:
    """Our E2B API on 127.0.0.1, its sandboxes from `provider` (a started local provider,
    left running), with one user whose API key the backend uses."""
    with fresh_database(root) as database_url:
        settings = Settings(
            data_dir=root / "data", database_url=database_url, sandbox=SERVER_SANDBOX
        )
        sessions = SessionManager.from_settings(provider, SERVER_SANDBOX)
        await sessions.start()
        try:
            app = create_app(settings, sessions=sessions)
            async with app.router.lifespan_context(app):
                services: Services = app.state.services
                user = await services.users.create_user("analyst")
                key = (await services.users.create_key(user.id)).secret
                async with uvicorn_on_loopback(create_e2b_app(app)) as url:
                    yield E2BServer(url, key, services)
        finally:
            await sessions.shutdown(end_provider=False)


def e2b_sandbox_settings(server: E2BServer, **overrides: Any) -> SandboxSettings:
    e2b = {"api_key": server.api_key, "api_url": server.url, "sandbox_url": server.url}
    e2b.update(overrides.pop("e2b", {}))
    values: dict[str, Any] = {
        "backend": "e2b",
        "timeout": 30.0,
        "interrupt_grace": 2.0,
        "e2b": e2b,
    }
    values.update(overrides)
    return SandboxSettings(**values)


@asynccontextmanager
async def started_e2b_provider(server: E2BServer, **overrides: Any) -> AsyncIterator[E2BProvider]:
    provider = E2BProvider(e2b_sandbox_settings(server, **overrides))
    async with provider:
        yield provider


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def e2b_api(
    tmp_path_factory: pytest.TempPathFactory, local_provider: SandboxProvider
) -> AsyncIterator[E2BServer]:
    async with e2b_server(tmp_path_factory.mktemp("e2b-server"), local_provider) as server:
        yield server


@pytest_asyncio.fixture(loop_scope="session")
async def e2b_provider(e2b_api: E2BServer) -> AsyncIterator[E2BProvider]:
    async with started_e2b_provider(e2b_api) as provider:
        yield provider


@pytest_asyncio.fixture(loop_scope="session")
async def sandbox(e2b_provider: E2BProvider) -> AsyncIterator[E2BSandbox]:
    created = await e2b_provider.create()
    assert isinstance(created, E2BSandbox)
    yield created
    await created.close()
