"""An assistant's environment variables reach its sandboxes: the plain ones for everyone who
chats with it, the secret ones (encrypted at rest, never shown back) only in its owner's own
conversations, so that a public assistant does not hand its owner's keys to its users."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from sandbox_analyst.service import Services
from sandbox_analyst.store import Assistant
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.api.chat.conftest import Chatter, make_chatter

pytestmark = pytest.mark.asyncio(loop_scope="session")

SHOW_ENV = "import os\nprint(os.environ.get('STAGE'), os.environ.get('PARTNER_TOKEN'))"
SECRET = "tok-3f9a-very-secret"


async def env_seen(chatter: Chatter, fake: FakeLLMServer) -> str:
    fake.add_turns(Turn(tool_calls=[("execute_code", {"code": SHOW_ENV})]), Turn(text="Shown."))
    reply = await chatter.ask("What is set?")
    assert reply.end["status"] == "complete", reply.events
    return reply.stdout.strip()


async def test_secret_variables_reach_only_the_owners_conversations_and_are_never_shown(
    services: Services, client: httpx.AsyncClient, fake: FakeLLMServer
) -> None:
    env = {"env_vars": {"STAGE": "prod"}, "secret_env_vars": {"PARTNER_TOKEN": SECRET}}
    rita = await make_chatter(services, client, "rita", assistant={"visibility": "public", **env})

    shown = await client.get(f"/api/assistants/{rita.assistant_id}", headers=rita.headers)
    assert shown.json()["env_vars"] == {"STAGE": "prod"}
    assert shown.json()["secret_env_vars"] == ["PARTNER_TOKEN"]
    assert SECRET not in shown.text
    async with services.db.session() as session:
        stored = await session.scalar(select(Assistant).where(Assistant.id == rita.assistant_id))
    assert stored is not None
    assert SECRET not in str(stored.secret_env_vars)

    assert await env_seen(rita, fake) == f"prod {SECRET}"

    # Another user, chatting with the public assistant: the plain variable only.
    sam = await make_chatter(services, client, "sam")
    created = await client.post(
        "/api/conversations", json={"assistant_id": rita.assistant_id}, headers=sam.headers
    )
    assert created.status_code == 201, created.text
    sams = Chatter(client, sam.headers, rita.assistant_id, created.json()["id"])
    assert await env_seen(sams, fake) == "prod None"


async def test_secrets_are_merged_on_update_and_a_name_is_plain_or_secret_not_both(
    services: Services, client: httpx.AsyncClient
) -> None:
    tom = await make_chatter(
        services, client, "tom", assistant={"secret_env_vars": {"A_KEY": "1", "B_KEY": "2"}}
    )
    path = f"/api/assistants/{tom.assistant_id}"

    changed = await client.patch(
        path, json={"secret_env_vars": {"A_KEY": None, "C_KEY": "3"}}, headers=tom.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["secret_env_vars"] == ["B_KEY", "C_KEY"]
    untouched = await client.patch(path, json={"description": "x"}, headers=tom.headers)
    assert untouched.json()["secret_env_vars"] == ["B_KEY", "C_KEY"]

    clash = await client.patch(path, json={"env_vars": {"B_KEY": "plain"}}, headers=tom.headers)
    assert clash.status_code == 422, clash.text
    assert clash.json()["error"]["field"] == "secret_env_vars"
    bad_name = await client.patch(path, json={"env_vars": {"1X": "v"}}, headers=tom.headers)
    assert bad_name.status_code == 422, bad_name.text
    nul = await client.patch(path, json={"secret_env_vars": {"D": "a\u0000b"}}, headers=tom.headers)
    assert nul.status_code == 422, nul.text
    assert (await client.get(path, headers=tom.headers)).json()["secret_env_vars"] == [
        "B_KEY",
        "C_KEY",
    ]
