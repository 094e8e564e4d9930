"""Tasks over HTTP: the real app (tests/fixtures/apps.py) with the scripted fake model and the
session's shared sandboxes, as in tests/api/chat. Tests run on the session's event loop:
`pytestmark = pytest.mark.asyncio(loop_scope="session")`."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SessionManager
from sandbox_analyst.testing import FakeLLMServer
from tests.fixtures.models import fake_llm_settings
from tests.fixtures.sandboxes import CHAT_SANDBOX


@pytest.fixture
def app_settings(tmp_path: Path, database_url: str, fake: FakeLLMServer) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        sandbox=CHAT_SANDBOX,
        llm=fake_llm_settings(fake, max_retries=0),
    )


@pytest.fixture
def app_sessions(sandbox_sessions: SessionManager) -> SessionManager:
    return sandbox_sessions
