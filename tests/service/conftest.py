"""Started services on a fresh database, and three principals: alice, bob, root (admin)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sandbox_analyst.config import Settings
from sandbox_analyst.service import Principal, Services


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    async with Services.running(settings) as running:
        yield running


async def _principal(services: Services, name: str, admin: bool = False) -> Principal:
    user = await services.users.create_user(name, admin=admin)
    return Principal(user_id=user.id, name=user.name, is_admin=admin)


@pytest.fixture
async def alice(services: Services) -> Principal:
    return await _principal(services, "alice")


@pytest.fixture
async def bob(services: Services) -> Principal:
    return await _principal(services, "bob")


@pytest.fixture
async def root(services: Services) -> Principal:
    return await _principal(services, "root", admin=True)
