"""One user cannot take every sandbox: a per-user cap on live sessions, their least recently
used idle one ended when they need another, a 429 naming the cap when all of theirs are in
use, and other users' turns running all along."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from sandbox_analyst.api import create_app
from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SandboxProvider, SessionManager, TooManyUserSessionsError
from sandbox_analyst.service import AssistantCreate, Principal, Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.api.chat.conftest import make_chatter
from tests.fixtures.sandboxes import CHAT_SANDBOX as SANDBOX

pytestmark = pytest.mark.asyncio(loop_scope="session")

PER_USER = 4
# Room for more than one user's share, far less than 50 conversations' worth.
CAPS = SANDBOX.model_copy(update={"max_sessions": 10, "max_sessions_per_user": PER_USER})
HOLD = "import time\nprint('holding', flush=True)\ntime.sleep(60)"


def by_question(body: dict) -> Turn:
    """Runs the code the question asks for, then answers with its output (computed per
    request, so that concurrent conversations share one script)."""
    messages = body["messages"]
    if messages[-1]["role"] == "tool":
        return Turn(text=f"Result: {last_tool_result(body)}")
    question = next(m["content"] for m in reversed(messages) if m["role"] == "user")
    return Turn(tool_calls=[("execute_code", {"code": question.removeprefix("Run: ")})])


@dataclass
class Capped:
    services: Services
    client: httpx.AsyncClient
    sessions: SessionManager


@pytest_asyncio.fixture(loop_scope="session")
async def capped(app_settings: Settings, local_provider: SandboxProvider) -> AsyncIterator[Capped]:
    """The app with tight session caps, on the shared backend."""
    sessions = SessionManager.from_settings(local_provider, CAPS)
    application = create_app(app_settings.model_copy(update={"sandbox": CAPS}), sessions=sessions)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=60
        ) as client:
            yield Capped(application.state.services, client, sessions)
    await sessions.shutdown(end_provider=False)


async def conversations(services: Services, name: str, count: int) -> tuple[Principal, list[str]]:
    user = await services.users.create_user(name)
    principal = Principal(user.id, name)
    assistant = await services.assistants.create(principal, AssistantCreate(name="analyst"))
    created = [await services.conversations.create(principal, assistant.id) for _ in range(count)]
    return principal, [conversation.id for conversation in created]


async def turn(services: Services, principal: Principal, conversation_id: str, code: str) -> str:
    """One turn to its end; its status."""
    started = await services.chat.start_turn(principal, conversation_id, f"Run: {code}")
    status = "?"
    async for event in started:
        if event.type == "message_end":
            status = event.status
    return status


async def test_a_user_whose_sessions_are_all_busy_gets_a_429_and_others_still_run(
    fake: FakeLLMServer, capped: Capped
) -> None:
    services = capped.services
    alice, ids = await conversations(services, "alice", PER_USER + 1)
    fake.add_turns(*[by_question] * 20)
    running = [await services.chat.start_turn(alice, i, f"Run: {HOLD}") for i in ids[:PER_USER]]

    async def until_holding(started) -> None:
        async for event in started:
            if event.type == "stdout" and "holding" in event.text:
                return

    await asyncio.wait_for(asyncio.gather(*(until_holding(t) for t in running)), 60)
    with pytest.raises(TooManyUserSessionsError, match=f"limit {PER_USER}"):
        await services.chat.start_turn(alice, ids[PER_USER], "Run: 1")
    key = (await services.users.create_key(alice.user_id)).secret
    refused = await capped.client.post(
        f"/api/conversations/{ids[PER_USER]}/messages",
        json={"content": "Run: 1"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_sessions_per_user"
    assert "ANALYST_SANDBOX__MAX_SESSIONS_PER_USER" in refused.json()["error"]["message"]

    bob = await make_chatter(services, capped.client, "bob")
    reply = await bob.ask("Run: print(6 * 7)")
    assert reply.end["status"] == "complete"
    assert "42" in reply.stdout

    for started in running:
        started.cancel()
        await started.wait()


async def test_fifty_conversations_of_one_user_never_starve_another(
    fake: FakeLLMServer, capped: Capped
) -> None:
    services, sessions = capped.services, capped.sessions
    alice, ids = await conversations(services, "alice", 50)
    fake.add_turns(*[by_question] * (50 * 3 * 2 + 10))
    outcomes: list[str] = []
    most_held = 0
    busy = asyncio.Event()

    async def converse(conversation_id: str) -> None:
        nonlocal most_held
        for _ in range(3):
            try:
                started = await services.chat.start_turn(
                    alice, conversation_id, "Run: import time; time.sleep(0.3); n = 1"
                )
            except TooManyUserSessionsError:
                outcomes.append("refused")
                await asyncio.sleep(0.05)
                continue
            most_held = max(most_held, sessions.count(alice.user_id))
            if sessions.count(alice.user_id) == PER_USER:
                busy.set()
            async for event in started:
                if event.type == "message_end":
                    outcomes.append(event.status)

    load = asyncio.gather(*(converse(i) for i in ids))
    await asyncio.wait_for(busy.wait(), 60)  # alice holds all she may
    bob = await make_chatter(services, capped.client, "bob")
    reply = await bob.ask("Run: print('bob runs')")
    await asyncio.wait_for(load, 300)

    assert reply.end["status"] == "complete"
    assert "bob runs" in reply.stdout
    assert most_held == PER_USER
    assert len(outcomes) == 150
    assert set(outcomes) <= {"complete", "refused"}
    assert outcomes.count("complete") >= PER_USER


async def test_a_users_idle_sessions_make_room_for_their_next_conversations(
    fake: FakeLLMServer, capped: Capped
) -> None:
    services, sessions = capped.services, capped.sessions
    alice, ids = await conversations(services, "alice", PER_USER + 2)
    fake.add_turns(*[by_question] * (2 * (len(ids) + 1)))
    for index, conversation_id in enumerate(ids):
        assert await turn(services, alice, conversation_id, f"mine = {index}") == "complete"
        assert sessions.count(alice.user_id) == min(index + 1, PER_USER)
    assert services.sandboxes.get(ids[0]) is None  # ended to make room, least recently used

    first = await services.chat.start_turn(alice, ids[0], "Run: print(mine)")
    events = [event async for event in first]
    assert [e.reason for e in events if e.type == "sandbox_restored"] == ["new_sandbox"]
    assert "0" in "".join(e.text for e in events if e.type == "stdout")
