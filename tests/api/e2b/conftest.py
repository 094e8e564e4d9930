"""The official E2B SDKs against our server: the real app (a fresh database per test) behind a
real uvicorn server on 127.0.0.1 serving the E2B API, real sandboxes from one pool shared by
the session. The SDKs are configured the way a user would: an API key of ours, and
`api_url` / `sandbox_url` (E2B_API_URL / E2B_SANDBOX_URL) both naming the E2B port.

The sync SDK blocks: its calls run in a thread (`in_thread`), the server stays on the loop.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from fastapi import FastAPI

from sandbox_analyst.api import create_app
from sandbox_analyst.api.e2b import create_e2b_app
from sandbox_analyst.config import SandboxSettings, Settings
from sandbox_analyst.sandbox import SessionManager
from sandbox_analyst.sandbox.local import LocalProvider
from sandbox_analyst.service import Services
from tests.conftest import uvicorn_on_loopback

SANDBOX = SandboxSettings(pool_size=2, timeout=20.0, interrupt_grace=2.0, max_sessions=64)
T = TypeVar("T")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def e2b_sessions(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SessionManager]:
    async with LocalProvider(SANDBOX, tmp_path_factory.mktemp("e2b-sandboxes")) as provider:
        sessions = SessionManager.from_settings(provider, SANDBOX)
        await sessions.start()
        yield sessions
        await sessions.shutdown(end_provider=False)


@pytest.fixture
def e2b_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, sandbox=SANDBOX)


@pytest_asyncio.fixture(loop_scope="session")
async def app(e2b_settings: Settings, e2b_sessions: SessionManager) -> AsyncIterator[FastAPI]:
    application = create_app(e2b_settings, sessions=e2b_sessions)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def services(app: FastAPI) -> Services:
    return app.state.services


@pytest_asyncio.fixture(loop_scope="session")
async def e2b_url(app: FastAPI) -> AsyncIterator[str]:
    async with uvicorn_on_loopback(create_e2b_app(app)) as url:
        yield url


@dataclass(frozen=True)
class E2BUser:
    """One of our users, as the SDK options that point E2B's SDKs at us."""

    name: str
    api_key: str
    url: str

    @property
    def opts(self) -> dict[str, Any]:
        return {"api_key": self.api_key, "api_url": self.url, "sandbox_url": self.url}

    @property
    def env(self) -> dict[str, str]:
        return {"E2B_API_KEY": self.api_key, "E2B_API_URL": self.url, "E2B_SANDBOX_URL": self.url}


async def make_user(services: Services, url: str, name: str) -> E2BUser:
    user = await services.users.create_user(name)
    return E2BUser(name, (await services.users.create_key(user.id)).secret, url)


@pytest_asyncio.fixture(loop_scope="session")
async def alice(services: Services, e2b_url: str) -> E2BUser:
    return await make_user(services, e2b_url, "alice")


@pytest_asyncio.fixture(loop_scope="session")
async def bob(services: Services, e2b_url: str) -> E2BUser:
    return await make_user(services, e2b_url, "bob")


async def in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking SDK call off the loop that serves it."""
    return await asyncio.to_thread(functools.partial(function, *args, **kwargs))
