"""A turn cut off by the end of its server process (SIGKILL) is marked `interrupted` with a
clear error, keeping what was shown: by the process that starts next, at once, or by another
server sharing the database, which never touches the turns of a server that still runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox_analyst.config import Settings
from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.api.conftest import bearer
from tests.api.streamed_turn import PATIENCE_S, StreamedTurn
from tests.conftest import LiveServer

SLEEPER = "print('started', flush=True)\nimport time\ntime.sleep(600)"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        for name, value in {
            "ANALYST_LLM__BASE_URL": server.openai_base_url,
            "ANALYST_LLM__API_KEY": "test-key",
            "ANALYST_LLM__MODEL": "test-model",
            "ANALYST_SANDBOX__POOL_SIZE": "1",
            "ANALYST_SANDBOX__PRELOAD": "[]",
            "ANALYST_SERVER__HEARTBEAT_S": "1",
        }.items():
            monkeypatch.setenv(name, value)
        yield server


def last_message(server: LiveServer, key: str, conversation_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{server.base_url}/api/conversations/{conversation_id}",
        headers=bearer(key),
        timeout=PATIENCE_S,
    )
    assert response.status_code == 200, response.text
    return response.json()["messages"][-1]


def new_conversation(server: LiveServer, key: str) -> str:
    with httpx.Client(base_url=server.base_url, headers=bearer(key), timeout=PATIENCE_S) as http:
        assistant = http.post("/api/assistants", json={"name": f"a{time.monotonic_ns()}"})
        conversation = http.post(
            "/api/conversations", json={"assistant_id": assistant.json()["id"]}
        )
        return conversation.json()["id"]


def assert_interrupted(message: dict[str, Any]) -> None:
    assert message["status"] == "interrupted", message
    assert "server stopped during the answer" in message["error"]
    assert message["content"].startswith("Let me run it.")  # what was shown is kept


@pytest.fixture
def key(settings: Settings, fake: FakeLLMServer) -> str:
    async def seed() -> str:
        async with Services.running(settings) as services:
            user = await services.users.create_user("crash")
            return (await services.users.create_key(user.id)).secret

    sleeper = Turn(text="Let me run it.", tool_calls=[("execute_code", {"code": SLEEPER})])
    fake.add_turns(sleeper)
    return asyncio.run(seed())


def test_the_next_server_to_start_marks_a_killed_servers_turn(
    live_server: LiveServer, key: str
) -> None:
    live_server.start()
    conversation = new_conversation(live_server, key)
    StreamedTurn(live_server, key, conversation).wait_for("started")
    assert last_message(live_server, key, conversation)["status"] == "streaming"

    live_server.kill()
    live_server.start()
    # Marked at start-up: the first answer after the restart says so.
    assert_interrupted(last_message(live_server, key, conversation))


def test_a_replica_marks_a_killed_servers_turn_and_never_a_live_ones(
    settings: Settings, live_server: LiveServer, key: str, tmp_path: Path
) -> None:
    # A replica: the same database, a data directory of its own.
    replica = LiveServer(settings.model_copy(update={"data_dir": tmp_path / "replica"}))
    try:
        live_server.start()
        conversation = new_conversation(live_server, key)
        StreamedTurn(live_server, key, conversation).wait_for("started")

        replica.start()
        # The replica's start-up, and its heartbeats (every second) after, leave it be.
        time.sleep(3)
        assert last_message(replica, key, conversation)["status"] == "streaming"

        live_server.kill()
        deadline = time.monotonic() + PATIENCE_S
        while last_message(replica, key, conversation)["status"] == "streaming":
            assert time.monotonic() < deadline, "the replica never marked the turn"
            time.sleep(0.2)
        assert_interrupted(last_message(replica, key, conversation))
    finally:
        replica.stop()
