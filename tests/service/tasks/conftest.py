"""Tasks on real services: a fresh database per test, the session's shared sandbox backend,
and the scripted fake LLM server behind the real OpenAI SDK adapter. Tests run on the
session's event loop, where the backend lives: `pytestmark =
pytest.mark.asyncio(loop_scope="session")`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SessionManager
from sandbox_analyst.service import Principal, Services, TaskDetail, TaskRun
from sandbox_analyst.testing import FakeLLMServer
from tests.fixtures.models import fake_llm_settings
from tests.fixtures.sandboxes import CHAT_SANDBOX


@pytest.fixture
def task_settings(tmp_path: Path, database_url: str, fake: FakeLLMServer) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        sandbox=CHAT_SANDBOX,
        llm=fake_llm_settings(fake, max_retries=0),
    )


@pytest_asyncio.fixture(loop_scope="session")
async def task_services(
    task_settings: Settings, sandbox_sessions: SessionManager
) -> AsyncIterator[Services]:
    services = Services.from_settings(task_settings, sessions=sandbox_sessions)
    await services.start()
    try:
        yield services
    finally:
        await services.stop()


async def user(services: Services, name: str) -> Principal:
    record = await services.users.create_user(name)
    return Principal(user_id=record.id, name=record.name, is_admin=False)


async def events_of(run: TaskRun) -> list:
    """Every event of the run, from the first to `task_end`."""
    events, index = [], 0
    while (event := await run.next_event(index)) is not None:
        events.append(event)
        index += 1
    return events


async def finished(services: Services, principal: Principal, run: TaskRun) -> TaskDetail:
    await run.wait()
    return await services.tasks.get(principal, run.task_id)
