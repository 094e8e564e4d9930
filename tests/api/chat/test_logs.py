"""The log of a chat turn over HTTP (`logging.format: json`): every line written while the
request runs carries its request id (the client's `X-Request-ID`, echoed back), every line of
the turn its turn id; requests are logged by route template; the question, the code and the
answer are not in the log."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.api.chat.conftest import Chatter
from tests.fixtures.logs import logging_into

pytestmark = pytest.mark.asyncio(loop_scope="session")

QUESTION = "How much did Oslo sell? (a secret question)"
CODE = "print('SECRET-OUTPUT', 6 * 7)"
ANSWER = "Oslo sold SECRET-ANSWER."


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    with logging_into("json") as stream:
        yield stream


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_a_turns_lines_carry_its_request_and_turn_ids_and_none_of_its_content(
    fake: FakeLLMServer, alice: Chatter, client: httpx.AsyncClient, log_lines: io.StringIO
) -> None:
    fake.add_turns(Turn(tool_calls=[("execute_code", {"code": CODE})]), Turn(text=ANSWER))

    response = await client.post(
        f"/api/conversations/{alice.conversation_id}/messages?secret_param=hunter2",
        json={"content": QUESTION},
        headers={**alice.headers, "Accept": "text/event-stream", "X-Request-ID": "trace-42"},
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "trace-42"
    assert "SECRET-ANSWER" in response.text
    _user, assistant = await alice.messages()

    lines = records(log_lines)
    turn_lines = [line for line in lines if line.get("turn_id") == assistant["id"]]
    messages = [line["message"] for line in turn_lines]
    assert messages[0] == "chat turn started"
    assert messages[-1].startswith("chat turn ended: complete (complete)")
    assert all(line["request_id"] == "trace-42" for line in turn_lines)
    assert all(line["conversation_id"] == alice.conversation_id for line in turn_lines)
    (access,) = [
        line
        for line in lines
        if line["logger"] == "sandbox_analyst.access" and line["request_id"] == "trace-42"
    ]
    assert access["route"] == "/api/conversations/{conversation_id}/messages"
    assert (access["method"], access["status"]) == ("POST", 200)
    everything = log_lines.getvalue()
    for secret in ("secret question", "SECRET-OUTPUT", "SECRET-ANSWER", "hunter2", "Bearer"):
        assert secret not in everything


async def test_without_a_usable_request_id_the_server_makes_one(
    alice: Chatter, client: httpx.AsyncClient, log_lines: io.StringIO
) -> None:
    plain = await client.get("/api/conversations", headers=alice.headers)
    odd = await client.get(
        "/api/conversations", headers={**alice.headers, "X-Request-ID": "no spaces\tor tabs"}
    )

    made = {plain.headers["x-request-id"], odd.headers["x-request-id"]}
    assert len(made) == 2
    assert all(len(rid) == 32 for rid in made)
    logged = {line["request_id"] for line in records(log_lines) if "request_id" in line}
    assert made <= logged
