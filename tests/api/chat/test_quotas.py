"""Per-user quotas over the REST API, with real turns (the fake model, real sandboxes): an
admin sets a user's own limits; each quota trips with a 429 naming it and when it resets
(nothing stored is lost), or mid-turn with an SSE `error` event and the partial reply kept;
and each daily quota resets once what it counted is yesterday's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from sandbox_analyst.service import AssistantCreate, Principal, Services
from sandbox_analyst.store import Conversation, Execution, FileRecord, Message
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.api.chat.conftest import Chatter, admin_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")

CSV = b"month,sales\nJan,10\nFeb,14\n"
# Well over 0.05 s of CPU on any machine (a sleep would use none).
BUSY = "sum(i * i for i in range(3_000_000))\nprint('ran')"


async def set_quota(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, **limits: Any
) -> dict[str, Any]:
    response = await client.put(f"/api/admin/users/{name}/quota", json=limits, headers=headers)
    assert response.status_code == 200, response.text
    return {quota["name"]: quota for quota in response.json()["quotas"]}


async def ask_refused(chatter: Chatter, content: str) -> httpx.Response:
    return await chatter.client.post(
        f"/api/conversations/{chatter.conversation_id}/messages",
        json={"content": content},
        headers={**chatter.headers, "Accept": "text/event-stream"},
    )


async def as_if_yesterday(services: Services, owner_id: str) -> None:
    """The owner's turns and code runs so far, dated a day earlier (the day has passed)."""
    yesterday = datetime.now(UTC) - timedelta(days=1)
    async with services.db.session() as session:
        conversations = select(Conversation.id).where(Conversation.owner_id == owner_id)
        await session.execute(
            update(Message)
            .where(Message.conversation_id.in_(conversations))
            .values(created_at=yesterday)
        )
        await session.execute(
            update(Execution).where(Execution.owner_id == owner_id).values(created_at=yesterday)
        )


async def owner_of(services: Services, chatter: Chatter) -> str:
    async with services.db.session() as session:
        conversation = await session.get(Conversation, chatter.conversation_id)
        assert conversation is not None
        return conversation.owner_id


def tomorrow_utc() -> str:
    today = datetime.now(UTC).date()
    return f"{today + timedelta(days=1)}T00:00:00Z"


async def test_turns_per_day_refuses_with_a_429_naming_the_quota_and_resets(
    fake: FakeLLMServer, alice: Chatter, client: httpx.AsyncClient, services: Services
) -> None:
    headers = await admin_headers(services)
    await set_quota(client, headers, "alice", turns_per_day=1)
    fake.add_turns(Turn(text="First."), Turn(text="Next day."))
    assert (await alice.ask("One?")).end["status"] == "complete"
    stored = await alice.messages()

    refused = await ask_refused(alice, "Two?")

    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert (error["quota"], error["limit"], error["used"]) == ("turns_per_day", 1, 1)
    assert error["resets_at"] == tomorrow_utc()
    assert "turns_per_day" in error["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 24 * 3600
    assert await alice.messages() == stored  # nothing stored, nothing lost
    assert len(fake.model_requests) == 1  # the model was never asked

    await as_if_yesterday(services, await owner_of(services, alice))
    assert (await alice.ask("Three?")).end["status"] == "complete"


async def test_tokens_run_out_mid_turn_an_error_event_and_the_partial_reply_is_kept(
    fake: FakeLLMServer, alice: Chatter, client: httpx.AsyncClient, services: Services
) -> None:
    headers = await admin_headers(services)
    await set_quota(client, headers, "alice", tokens_per_day=100)
    fake.add_turns(
        Turn(
            text="Let me compute that.",
            tool_calls=[("execute_code", {"code": "print('never ran')"})],
            usage=(90, 20),
        ),
        Turn(text="never asked"),
    )

    reply = await alice.ask("Sum it")

    errors = reply.of("error")
    assert [e["code"] for e in errors] == ["quota_exceeded"]
    assert "tokens_per_day" in errors[0]["message"]
    assert reply.names()[-1] == "message_end"
    assert reply.end["status"] == "failed"
    assert reply.end["stop_reason"] == "quota_exceeded"
    assert reply.of("tool_result") == []  # stopped before the code ran
    assert len(fake.model_requests) == 1
    *_, answer = await alice.messages()
    assert "Let me compute that." in answer["content"]
    assert answer["usage"]["input_tokens"] == 90
    assert "tokens_per_day" in (answer["error"] or "")

    refused = await ask_refused(alice, "Again")
    assert refused.status_code == 429
    assert refused.json()["error"]["quota"] == "tokens_per_day"

    await as_if_yesterday(services, await owner_of(services, alice))
    fake.add_turns(Turn(text="Fine.", usage=(10, 5)))
    assert (await alice.ask("Tomorrow")).end["status"] == "complete"


async def test_cpu_seconds_run_out_after_a_code_run(
    fake: FakeLLMServer, alice: Chatter, client: httpx.AsyncClient, services: Services
) -> None:
    headers = await admin_headers(services)
    await set_quota(client, headers, "alice", cpu_seconds_per_day=0.05)
    fake.add_turns(
        Turn(tool_calls=[("execute_code", {"code": BUSY})]),
        Turn(text="never asked"),
    )

    reply = await alice.ask("Work")

    assert "ran" in reply.stdout
    assert [e["code"] for e in reply.of("error")] == ["quota_exceeded"]
    assert "cpu_seconds_per_day" in reply.of("error")[0]["message"]
    assert reply.end["stop_reason"] == "quota_exceeded"
    assert len(fake.model_requests) == 1  # no model call after the run
    refused = await ask_refused(alice, "More work")
    assert refused.status_code == 429
    assert refused.json()["error"]["quota"] == "cpu_seconds_per_day"

    await as_if_yesterday(services, await owner_of(services, alice))
    fake.add_turns(Turn(text="Rested."))
    assert (await alice.ask("Tomorrow")).end["status"] == "complete"


async def test_an_upload_past_the_storage_quota_is_refused_and_nothing_kept_is_lost(
    alice: Chatter, client: httpx.AsyncClient, services: Services
) -> None:
    headers = await admin_headers(services)
    await set_quota(client, headers, "alice", storage_bytes=len(CSV) + 10)
    kept = await alice.upload("sales.csv", CSV)

    refused = await client.post(
        "/api/files",
        params={"conversation_id": alice.conversation_id},
        files={"file": ("more.csv", CSV, "text/csv")},
        headers=alice.headers,
    )

    assert refused.status_code == 429
    error = refused.json()["error"]
    assert (error["quota"], error["used"], error["asked"]) == ("storage_bytes", len(CSV), len(CSV))
    assert error["resets_at"] is None
    assert error["frees_when"] == "delete files"
    assert "Retry-After" not in refused.headers
    async with services.db.session() as session:
        names = list(await session.scalars(select(FileRecord.name)))
    assert names == ["sales.csv"]
    assert (await client.get(f"/api/files/{kept}/content", headers=alice.headers)).content == CSV

    # Deleting frees it up.
    assert (await client.delete(f"/api/files/{kept}", headers=alice.headers)).is_success
    await alice.upload("more.csv", CSV)


async def test_a_fork_whose_copies_would_pass_the_storage_quota_is_refused(
    alice: Chatter, client: httpx.AsyncClient, services: Services
) -> None:
    headers = await admin_headers(services)
    await alice.upload("sales.csv", CSV)
    await set_quota(client, headers, "alice", storage_bytes=len(CSV) + 10)

    refused = await client.post(
        f"/api/conversations/{alice.conversation_id}/fork", json={}, headers=alice.headers
    )

    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["quota"] == "storage_bytes"
    async with services.db.session() as session:
        assert len(list(await session.scalars(select(Conversation.id)))) == 1
        assert list(await session.scalars(select(FileRecord.name))) == ["sales.csv"]


async def test_a_users_own_session_limit_is_their_quota(
    fake: FakeLLMServer, client: httpx.AsyncClient, services: Services
) -> None:
    headers = await admin_headers(services)
    user = await services.users.create_user("carol")
    carol = Principal(user.id, "carol")
    assistant = await services.assistants.create(carol, AssistantCreate(name="analyst"))
    first, second = [
        (await services.conversations.create(carol, assistant.id)).id for _ in range(2)
    ]
    await set_quota(client, headers, "carol", sessions=1)
    code = "import time\nprint('holding', flush=True)\ntime.sleep(60)"
    fake.add_turns(Turn(tool_calls=[("execute_code", {"code": code})]))
    running = await services.chat.start_turn(carol, first, "Hold")

    async def until_holding() -> None:
        async for event in running:
            if event.type == "stdout" and "holding" in event.text:
                return

    await asyncio.wait_for(until_holding(), 60)
    try:
        key = (await services.users.create_key(user.id)).secret
        refused = await client.post(
            f"/api/conversations/{second}/messages",
            json={"content": "Another"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert (error["quota"], error["limit"], error["used"]) == ("sessions", 1, 1)
        assert error["resets_at"] is None
        assert "end a session" in error["message"]
    finally:
        running.cancel()
        await running.wait()


async def test_users_see_their_own_quotas_and_only_admins_set_them(
    alice: Chatter, client: httpx.AsyncClient, services: Services
) -> None:
    headers = await admin_headers(services)
    await alice.upload("sales.csv", CSV)
    await set_quota(client, headers, "alice", turns_per_day=5, tokens_per_day=None)

    mine = await client.get("/api/me/quota", headers=alice.headers)

    assert mine.status_code == 200, mine.text
    quotas = {quota["name"]: quota for quota in mine.json()["quotas"]}
    assert set(quotas) == {
        "sessions",
        "turns_per_day",
        "tokens_per_day",
        "cpu_seconds_per_day",
        "storage_bytes",
    }
    assert quotas["turns_per_day"] | {"resets_at": None} == {
        "name": "turns_per_day",
        "limit": 5,
        "own": True,
        "used": 0,
        "resets_at": None,
        "frees_when": None,
    }
    assert quotas["turns_per_day"]["resets_at"].startswith(tomorrow_utc().removesuffix("Z"))
    assert (quotas["tokens_per_day"]["limit"], quotas["tokens_per_day"]["own"]) == (None, True)
    assert quotas["storage_bytes"]["used"] == len(CSV)
    assert quotas["storage_bytes"]["own"] is False

    assert (
        await client.get("/api/admin/users/alice/quota", headers=alice.headers)
    ).status_code == 403
    refused = await client.put(
        "/api/admin/users/alice/quota", json={"turns_per_day": 1000}, headers=alice.headers
    )
    assert refused.status_code == 403
    unknown = await client.put("/api/admin/users/nobody/quota", json={}, headers=headers)
    assert unknown.status_code == 404
    bad = await client.put(
        "/api/admin/users/alice/quota", json={"turns_per_day": -1}, headers=headers
    )
    assert bad.status_code == 422

    cleared = await set_quota(client, headers, "alice")
    assert not any(quota["own"] for quota in cleared.values())


async def test_the_openai_compatible_api_answers_a_quota_as_a_429_not_to_retry(
    fake: FakeLLMServer, alice: Chatter, client: httpx.AsyncClient, services: Services
) -> None:
    headers = await admin_headers(services)
    await set_quota(client, headers, "alice", turns_per_day=0)

    refused = await client.post(
        "/v1/chat/completions",
        json={"model": alice.assistant_id, "messages": [{"role": "user", "content": "Hi"}]},
        headers=alice.headers,
    )

    assert refused.status_code == 429
    error = refused.json()["error"]
    assert (error["code"], error["type"]) == ("quota_exceeded", "rate_limit_error")
    assert "turns_per_day" in error["message"]
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["x-should-retry"] == "false"
    assert fake.model_requests == []
