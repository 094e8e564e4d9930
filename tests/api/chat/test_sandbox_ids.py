"""A conversation's sandbox id is stored with it, so that another server process on the same
backend reaches the same live session (variables and files intact, nothing replayed); a
stored id whose session has ended leads to a new session and the usual rebuild."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import select

from sandbox_analyst.api import create_app
from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SandboxProvider, SessionManager
from sandbox_analyst.service import Services
from sandbox_analyst.store import Conversation
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.api.chat.conftest import Chatter
from tests.fixtures.sandboxes import CHAT_SANDBOX as SANDBOX

pytestmark = pytest.mark.asyncio(loop_scope="session")


def run(code: str) -> list[object]:
    return [
        Turn(tool_calls=[("execute_code", {"code": code})]),
        lambda body: Turn(text=f"Output: {last_tool_result(body)}"),
    ]


async def stored_sandbox_id(services: Services, conversation_id: str) -> str | None:
    async with services.db.session() as session:
        return await session.scalar(
            select(Conversation.sandbox_id).where(Conversation.id == conversation_id)
        )


@asynccontextmanager
async def another_server(
    settings: Settings, provider: SandboxProvider
) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    """A second server process in all but the process: same database, same backend, its own
    session manager that has never seen the conversation."""
    sessions = SessionManager.from_settings(provider, SANDBOX)
    application = create_app(settings, sessions=sessions)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=60
        ) as client:
            yield application.state.services, client
    await sessions.shutdown(end_provider=False)


async def test_the_sandbox_id_is_stored_when_the_sandbox_is_made(
    fake: FakeLLMServer, alice: Chatter, services: Services
) -> None:
    assert await stored_sandbox_id(services, alice.conversation_id) is None
    fake.add_turns(*run("print('hello')"))
    await alice.ask("Say hello")
    sandbox = services.sandboxes.get(alice.conversation_id)
    assert sandbox is not None
    assert await stored_sandbox_id(services, alice.conversation_id) == sandbox.sandbox_id


async def test_another_server_process_reconnects_to_the_live_sandbox(
    fake: FakeLLMServer,
    alice: Chatter,
    services: Services,
    app_settings: Settings,
    local_provider: SandboxProvider,
) -> None:
    fake.add_turns(*run("secret = 6 * 7\nopen('made.txt', 'w').write('here')"))
    await alice.ask("Compute the secret")
    first = services.sandboxes.get(alice.conversation_id)

    async with another_server(app_settings, local_provider) as (other, client):
        fake.add_turns(*run("import os\nprint(secret, sorted(os.listdir('.')))"))
        reply = await Chatter(client, alice.headers, alice.assistant_id, alice.conversation_id).ask(
            "What is the secret?"
        )
        assert reply.of("sandbox_restored") == []  # reached, not rebuilt
        assert "42 ['made.txt']" in reply.stdout
        assert other.sandboxes.get(alice.conversation_id).sandbox_id == first.sandbox_id


async def test_a_stored_id_whose_session_ended_gives_a_rebuilt_one(
    fake: FakeLLMServer,
    alice: Chatter,
    services: Services,
    app_settings: Settings,
    local_provider: SandboxProvider,
) -> None:
    fake.add_turns(*run("total = 10 + 5"))
    await alice.ask("Add")
    old = services.sandboxes.get(alice.conversation_id)
    await old.close()  # as if its backend lost it while no process was looking

    async with another_server(app_settings, local_provider) as (other, client):
        fake.add_turns(*run("print(total)"))
        reply = await Chatter(client, alice.headers, alice.assistant_id, alice.conversation_id).ask(
            "What was the total?"
        )
        [restored] = reply.of("sandbox_restored")
        assert restored["reason"] == "new_sandbox"
        assert "15" in reply.stdout
        new = other.sandboxes.get(alice.conversation_id)
        assert new.sandbox_id != old.sandbox_id
        assert await stored_sandbox_id(other, alice.conversation_id) == new.sandbox_id
