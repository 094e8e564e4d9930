"""What the CLI tests share: `analyst` (the CLI on this test's settings, in a fresh working
directory) and a conversation stored as a turn stores it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandbox_analyst.cli import app
from sandbox_analyst.config import Settings
from sandbox_analyst.service import AssistantCreate, Principal, Services
from sandbox_analyst.testing import FakeLLMServer
from tests.fixtures.models import FAKE_KEY, FAKE_MODEL

CODE = "print(6 * 7)"


def stored_conversation(settings: Settings) -> str:
    async def store() -> str:
        async with Services.running(settings) as services:
            user = await services.users.create_user("alice")
            alice = Principal(user.id, user.name)
            assistant = await services.assistants.create(alice, AssistantCreate(name="analyst"))
            conversation = await services.conversations.create(
                alice, assistant.id, title="Six times seven"
            )
            await services.conversations.append_message(conversation.id, "user", "What is 6*7?")
            message = await services.conversations.append_message(
                conversation.id,
                "assistant",
                "It is 42.",
                tool_calls=[{"id": "call-1", "name": "execute_code", "code": CODE}],
                tool_results=[{"call_id": "call-1", "success": True, "results": []}],
            )
            await services.conversations.append_execution(
                conversation.id, user.id, code=CODE, status="ok", message_id=message.id
            )
            return conversation.id

    return asyncio.run(store())


@pytest.fixture
def analyst(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANALYST_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ANALYST_DATABASE_URL", settings.effective_database_url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def use_fake_model(
    monkeypatch: pytest.MonkeyPatch,
    data_dir: Path,
    database_url: str,
    fake: FakeLLMServer,
    *,
    preload: list[str],
    max_retries: int | None = 0,
) -> None:
    """Point the CLI's settings (its environment) at `data_dir`, the test's database and the
    fake model, with a one-worker pool preloading only `preload`: only what the scripted code
    imports, since a zygote preloading scikit-learn and scipy costs seconds per invocation.
    `max_retries` None: the default."""
    environment = {
        "ANALYST_DATA_DIR": str(data_dir),
        "ANALYST_DATABASE_URL": database_url,
        "ANALYST_LLM__BASE_URL": fake.openai_base_url,
        "ANALYST_LLM__API_KEY": FAKE_KEY,
        "ANALYST_LLM__MODEL": FAKE_MODEL,
        "ANALYST_SANDBOX__POOL_SIZE": "1",
        "ANALYST_SANDBOX__TIMEOUT": "30",
        "ANALYST_SANDBOX__PRELOAD": json.dumps(preload),
    }
    if max_retries is not None:
        environment["ANALYST_LLM__MAX_RETRIES"] = str(max_retries)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
