"""Several `analyst serve` replicas on one PostgreSQL, one blob store and one Jupyter Kernel
Gateway: any replica serves any request. A conversation started on one continues on another
with its variables (the stored sandbox id is reconnected to, nothing replayed), one turn runs
at a time per conversation whichever replica is asked, and a cancel sent to any replica stops
the running cell."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox_analyst.config import Settings
from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.api.conftest import bearer
from tests.api.streamed_turn import PATIENCE_S, StreamedTurn
from tests.conftest import TEST_DATABASE_ENV, LiveServer
from tests.sandbox.gateway.gateway_process import GatewayProcess

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get(TEST_DATABASE_ENV),
        reason=f"replicas share a PostgreSQL server: set {TEST_DATABASE_ENV} (scripts/test does)",
    ),
    # Five processes (a gateway, two servers, a kernel, the fake model) and four turns: more
    # than the suite's per-test budget, which is sized for one server.
    pytest.mark.timeout(300),
]

SLEEPER = "print('started', flush=True)\nimport time\ntime.sleep(600)"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[GatewayProcess]:
    process = GatewayProcess(tmp_path / "gateway")
    asyncio.run(process.start())
    try:
        yield process
    finally:
        asyncio.run(process.stop())


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, gateway: GatewayProcess) -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        for name, value in {
            "ANALYST_LLM__BASE_URL": server.openai_base_url,
            "ANALYST_LLM__API_KEY": "test-key",
            "ANALYST_LLM__MODEL": "test-model",
            "ANALYST_SANDBOX__BACKEND": "gateway",
            "ANALYST_SANDBOX__GATEWAY__URL": gateway.url,
            "ANALYST_SANDBOX__GATEWAY__TOKEN": gateway.token,
            "ANALYST_SERVER__HEARTBEAT_S": "1",
        }.items():
            monkeypatch.setenv(name, value)
        yield server


@pytest.fixture
def replicas(settings: Settings, fake: FakeLLMServer) -> Iterator[tuple[LiveServer, LiveServer]]:
    # The same database and data directory (the blob store): two processes, two runner ids.
    first, second = LiveServer(settings), LiveServer(settings)
    try:
        with ThreadPoolExecutor(2) as starting:  # side by side: each start takes seconds
            for started in [starting.submit(first.start), starting.submit(second.start)]:
                started.result()
        yield first, second
    finally:
        first.stop()
        second.stop()


@pytest.fixture
def key(settings: Settings, fake: FakeLLMServer) -> str:
    async def seed() -> str:
        async with Services.running(settings) as services:
            user = await services.users.create_user("replicas")
            return (await services.users.create_key(user.id)).secret

    return asyncio.run(seed())


def code_turn(fake: FakeLLMServer, code: str, answer: str = "Done.") -> None:
    fake.add_turns(
        Turn(text="Running it.", tool_calls=[("execute_code", {"code": code})]), Turn(text=answer)
    )


def ask(server: LiveServer, key: str, conversation_id: str, content: str) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/api/conversations/{conversation_id}/messages",
        json={"content": content},
        headers=bearer(key),
        timeout=PATIENCE_S * 2,
    )


def observations(message: dict[str, Any]) -> str:
    return str(message["tool_results"])


def test_a_conversation_moves_between_replicas_and_is_cancelled_from_either(
    replicas: tuple[LiveServer, LiveServer], key: str, fake: FakeLLMServer
) -> None:
    first, second = replicas
    with httpx.Client(base_url=first.base_url, headers=bearer(key), timeout=PATIENCE_S) as http:
        assistant = http.post("/api/assistants", json={"name": "replicated"}).json()
        conversation = http.post(
            "/api/conversations", json={"assistant_id": assistant["id"]}
        ).json()["id"]

    # A value no replay could reproduce: the time the first cell ran.
    code_turn(fake, "import time\nstamp = time.time_ns()\nprint('stamp', stamp)")
    answered = ask(first, key, conversation, "Take a stamp")
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "complete", answered.json()
    stamp = observations(answered.json()).split("stamp ")[1].split("\\n")[0]
    assert stamp.isdigit(), answered.json()

    # The second replica reconnects to the conversation's kernel: the variable is there.
    code_turn(fake, "print('again', stamp)")
    streamed = StreamedTurn(second, key, conversation)
    lines = streamed.rest()
    assert not any("sandbox_restored" in line for line in lines), lines
    continued = httpx.get(
        f"{second.base_url}/api/conversations/{conversation}", headers=bearer(key)
    ).json()["messages"][-1]
    assert continued["status"] == "complete", continued
    assert f"again {stamp}" in observations(continued)

    # A long cell on the second replica: the first refuses a turn meanwhile, and cancels it.
    fake.add_turns(Turn(text="Let me run it.", tool_calls=[("execute_code", {"code": SLEEPER})]))
    long_turn = StreamedTurn(second, key, conversation)
    long_turn.wait_for("started")
    refused = ask(first, key, conversation, "Another question")
    assert refused.status_code == 409, refused.text
    assert "already running" in refused.json()["error"]["message"]

    cancel = httpx.post(
        f"{first.base_url}/api/conversations/{conversation}/cancel", headers=bearer(key)
    )
    assert cancel.status_code == 200, cancel.text
    assert cancel.json() == {"cancelled": True}
    ended = long_turn.rest()
    end = json.loads(ended[ended.index("event: message_end") + 1].removeprefix("data: "))
    assert (end["status"], end["error"]) == ("cancelled", "cancelled by the user"), end

    # The cell was stopped, not left running: the kernel answers the next turn at once, and
    # the conversation's state is intact.
    code_turn(fake, "print('after', stamp)")
    after = ask(first, key, conversation, "Still there?")
    assert after.status_code == 200, after.text
    assert after.json()["status"] == "complete", after.json()
    assert f"after {stamp}" in observations(after.json())
    cancelled = httpx.get(
        f"{first.base_url}/api/conversations/{conversation}", headers=bearer(key)
    ).json()["messages"][-3]
    assert cancelled["status"] == "cancelled", cancelled
