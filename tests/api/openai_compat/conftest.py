"""The OpenAI-compatible API end to end: the real app (tests/fixtures/apps.py) behind a live
uvicorn server on 127.0.0.1, called with OpenAI's own Python SDK, the scripted fake LLM behind
it and real sandboxes (one pool for the session, as in the chat tests). Tests run on the
session's loop: `pytestmark = pytest.mark.asyncio(loop_scope="session")`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
import pytest_asyncio

from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SessionManager
from sandbox_analyst.service import AssistantCreate, Principal, Services
from sandbox_analyst.testing import FakeLLMServer
from tests.fixtures.models import fake_llm_settings
from tests.fixtures.sandboxes import CHAT_SANDBOX


@pytest.fixture
def v1_settings(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, fake: FakeLLMServer
) -> Settings:
    """Parametrize indirectly with `{"server": {...}, "openai_compat": {...}}` for other
    settings."""
    overrides: dict[str, Any] = getattr(request, "param", {})
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        sandbox=CHAT_SANDBOX,
        server={"max_upload_mb": 1, **overrides.get("server", {})},
        openai_compat=overrides.get("openai_compat", {}),
        llm=fake_llm_settings(fake),
    )


@pytest.fixture
def app_settings(v1_settings: Settings) -> Settings:
    return v1_settings


@pytest.fixture
def app_sessions(sandbox_sessions: SessionManager) -> SessionManager:
    return sandbox_sessions


@pytest.fixture
def base_url(live_url: str) -> str:
    """The app behind a real uvicorn server on 127.0.0.1."""
    return live_url


@dataclass
class V1User:
    """A user with an API key and an assistant, and an OpenAI client on our `/v1`."""

    principal: Principal
    key: str
    assistant_id: str
    model: str  # the assistant's model id in /v1/models
    client: openai.AsyncOpenAI


def v1_client(base_url: str, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0, timeout=90)


async def make_user(
    services: Services, base_url: str, name: str, assistant: str = "Sales analyst"
) -> V1User:
    user = await services.users.create_user(name)
    key = (await services.users.create_key(user.id)).secret
    principal = Principal(user.id, user.name)
    record = await services.assistants.create(principal, AssistantCreate(name=assistant))
    client = v1_client(base_url, key)
    return V1User(principal, key, record.id, "sales-analyst", client)


@pytest_asyncio.fixture(loop_scope="session")
async def alice(services: Services, base_url: str) -> AsyncIterator[V1User]:
    user = await make_user(services, base_url, "alice")
    yield user
    await user.client.close()
