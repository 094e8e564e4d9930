"""Fixtures of the gateway backend's tests: a real `jupyter kernelgateway` on 127.0.0.1 (one
for the whole run; tests that break their gateway start their own), and started providers.

`started_gateway_provider()` is what a backend-parametrised `provider` fixture uses to run the
sandbox contract suite against this backend.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from sandbox_analyst.config import GatewaySettings, SandboxSettings
from sandbox_analyst.sandbox.gateway import GatewayProvider, GatewaySandbox
from tests.sandbox.gateway.gateway_process import GatewayProcess


def gateway_settings(url: str, token: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {"url": url, "token": token, "reconnect_timeout": 10.0}
    values.update(overrides)
    return GatewaySettings(**values)


def sandbox_settings(**overrides: Any) -> SandboxSettings:
    values: dict[str, Any] = {"timeout": 30.0, "interrupt_grace": 2.0, "backend": "gateway"}
    values.update(overrides)
    return SandboxSettings(**values)


@asynccontextmanager
async def started_gateway_provider(
    gateway: GatewayProcess, *, url: str | None = None, **overrides: Any
) -> AsyncIterator[GatewayProvider]:
    """A started provider on `gateway` (or on `url`, e.g. a proxy in front of it)."""
    sandbox = overrides.pop("sandbox", {})
    settings = gateway_settings(url or gateway.url, gateway.token, **overrides)
    provider = GatewayProvider(settings, sandbox_settings(**sandbox))
    async with provider:
        yield provider


@pytest.fixture(scope="session")
def kernel_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    gateway = GatewayProcess(tmp_path_factory.mktemp("gateway") / "root")
    asyncio.run(gateway.start())
    yield gateway
    asyncio.run(gateway.stop())


@pytest_asyncio.fixture
async def own_gateway(tmp_path: Path) -> AsyncIterator[GatewayProcess]:
    """A gateway of this test's own, for tests that restart or break it."""
    gateway = GatewayProcess(tmp_path / "root")
    await gateway.start()
    yield gateway
    await gateway.stop()


@pytest_asyncio.fixture
async def gateway_provider(kernel_gateway: GatewayProcess) -> AsyncIterator[GatewayProvider]:
    async with started_gateway_provider(kernel_gateway) as provider:
        yield provider


@pytest_asyncio.fixture
async def sandbox(gateway_provider: GatewayProvider) -> AsyncIterator[GatewaySandbox]:
    created = await gateway_provider.create()
    assert isinstance(created, GatewaySandbox)
    yield created
    await created.close()
