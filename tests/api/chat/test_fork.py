"""Forking a conversation with its sandbox state (`POST /api/conversations/{id}/fork`, the
`ForkService`), after real turns in real sandboxes: the fork has the original's variables and
files at once, the two then diverge independently (variables and files), a cell that fails
when replayed is reported, and the errors (unknown, another user's, a running turn, a bad
title) are the usual ones."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox_analyst.service import Conflict, Principal, Services
from sandbox_analyst.service.chat.history import history_from_messages
from sandbox_analyst.store import Conversation
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.api.chat.conftest import Chatter, make_chatter

pytestmark = pytest.mark.asyncio(loop_scope="session")

CSV = b"month,sales\nJan,10\nFeb,14\nMar,9\n"
SETUP = "import pandas as pd\ndf = pd.read_csv('sales.csv')\nx = int(df.sales.sum())\nprint(x)"


async def run(fake: FakeLLMServer, chatter: Chatter, code: str) -> str:
    """The stdout of `code` run by a turn in the chatter's conversation."""
    fake.add_turns(Turn(tool_calls=[("execute_code", {"code": code})]), Turn(text="done"))
    reply = await chatter.ask("run it")
    assert reply.end["status"] == "complete", reply.end
    return reply.stdout


async def fork(chatter: Chatter, **body: Any) -> dict[str, Any]:
    response = await chatter.client.post(
        f"/api/conversations/{chatter.conversation_id}/fork", json=body, headers=chatter.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def in_conversation(chatter: Chatter, conversation_id: str) -> Chatter:
    return Chatter(chatter.client, chatter.headers, chatter.assistant_id, conversation_id)


async def test_a_fork_has_the_variables_and_files_and_diverges_independently(
    fake: FakeLLMServer, alice: Chatter, client: httpx.AsyncClient
) -> None:
    await client.patch(
        f"/api/conversations/{alice.conversation_id}",
        json={"title": "Sales"},
        headers=alice.headers,
    )
    await alice.upload("sales.csv", CSV)
    assert await run(fake, alice, SETUP) == "33\n"

    forked = await fork(alice)

    assert forked["title"] == "Sales (fork)"
    assert forked["assistant_id"] == alice.assistant_id
    assert forked["id"] != alice.conversation_id
    assert forked["fork"]["source_id"] == alice.conversation_id
    assert forked["fork"]["files"] == 1
    replay = forked["fork"]["replay"]
    assert replay["status"] == "replayed"
    assert (replay["cells_replayed"], replay["cells_failed"], replay["failures"]) == (1, 0, [])
    copy = in_conversation(alice, forked["id"])
    original_messages = await alice.messages()
    fork_messages = await copy.messages()
    assert [(m["role"], m["content"], m["tool_calls"]) for m in fork_messages] == [
        (m["role"], m["content"], m["tool_calls"]) for m in original_messages
    ]
    listed = await client.get(
        "/api/files", params={"conversation_id": forked["id"]}, headers=alice.headers
    )
    assert [f["name"] for f in listed.json()] == ["sales.csv"]

    # The fork sees the original's variable and uploaded file at once...
    assert await run(fake, copy, "print(x, len(pd.read_csv('sales.csv')))") == "33 3\n"
    # ...and from then on each keeps its own variables and files.
    await run(fake, copy, "x = 'fork'\nopen('only_in_fork.txt', 'w').write('f')")
    await run(fake, alice, "x = 'original'\nopen('only_in_original.txt', 'w').write('o')")
    check = (
        "import os\nprint(x, os.path.exists('only_in_fork.txt'), "
        "os.path.exists('only_in_original.txt'))"
    )
    assert await run(fake, copy, check) == "fork True False\n"
    assert await run(fake, alice, check) == "original False True\n"


async def test_a_title_can_be_given_and_a_conversation_without_code_forks_too(
    alice: Chatter,
) -> None:
    forked = await fork(alice, title="Another road")

    assert forked["title"] == "Another road"
    assert forked["fork"]["replay"]["status"] == "nothing"
    assert forked["fork"]["messages"] == 0


async def test_a_cell_that_fails_when_replayed_is_reported(
    fake: FakeLLMServer, alice: Chatter
) -> None:
    # Succeeded once; replayed after its own output file was written back, it fails.
    once = "import os\nassert not os.path.exists('out.txt'), 'out.txt exists'\n"
    once += "open('out.txt', 'w').write('made')"
    await run(fake, alice, "y = 1")
    await run(fake, alice, once)

    replay = (await fork(alice))["fork"]["replay"]

    assert replay["status"] == "replayed"
    assert (replay["cells_replayed"], replay["cells_failed"]) == (1, 1)
    (failure,) = replay["failures"]
    assert failure["cell"] == 2
    assert failure["code"] == once
    assert failure["name"] == "AssertionError"
    assert "out.txt exists" in failure["value"]


async def test_unknown_or_other_peoples_conversations_cannot_be_forked(
    services: Services, alice: Chatter, client: httpx.AsyncClient
) -> None:
    bob = await make_chatter(services, client, "bob")
    url = f"/api/conversations/{alice.conversation_id}/fork"

    as_bob = await client.post(url, headers=bob.headers)
    unknown = await client.post("/api/conversations/noSuchConversation0/fork", headers=bob.headers)
    bad_title = await client.post(url, json={"title": "x" * 201}, headers=alice.headers)
    extra = await client.post(url, json={"owner_id": "someone"}, headers=alice.headers)
    anonymous = await client.post(url)

    assert as_bob.status_code == 404, as_bob.text
    assert as_bob.json()["error"]["code"] == "not_found"
    assert unknown.status_code == 404
    assert bad_title.status_code == 422
    assert extra.status_code == 422
    assert anonymous.status_code == 401


async def test_the_service_refuses_a_conversation_whose_turn_is_running(
    services: Services, alice: Chatter
) -> None:
    async with services.db.session() as session:
        conversation = await session.get(Conversation, alice.conversation_id)
    assert conversation is not None
    principal = Principal(conversation.owner_id, "alice")
    await services.conversations.append_message(
        alice.conversation_id, "assistant", status="streaming"
    )

    with pytest.raises(Conflict, match="a turn is running"):
        await services.forks.fork(principal, alice.conversation_id)


async def test_the_service_forks_into_the_callers_conversation_with_a_live_sandbox(
    fake: FakeLLMServer, services: Services, alice: Chatter
) -> None:
    await alice.upload("sales.csv", CSV)
    await run(fake, alice, SETUP)
    user = await services.users.create_user("root", admin=True)
    root = Principal(user.id, user.name, is_admin=True)

    by_root = await services.forks.fork(root, alice.conversation_id)
    for_alice = await services.forks.fork(root, alice.conversation_id, keep_owner=True)

    assert by_root.conversation.owner_id == root.user_id
    assert for_alice.conversation.owner_id != root.user_id
    assert by_root.replay.status == for_alice.replay.status == "replayed"
    original = await services.conversations.get(root, alice.conversation_id)
    copy = await services.conversations.get(root, by_root.conversation.id)
    assert history_from_messages(copy.messages) == history_from_messages(original.messages)
    sandbox = services.sandboxes.get(by_root.conversation.id)
    assert sandbox is not None  # made at fork time, ready for the first turn
    execution = await sandbox.run_code("print(x); x = 0")
    assert execution.logs.stdout == ["33\n"]
    other = services.sandboxes.get(for_alice.conversation.id)
    assert other is not None
    assert other is not sandbox
    assert (await other.run_code("print(x)")).logs.stdout == ["33\n"]
    records = await services.files.list(root, conversation_id=by_root.conversation.id)
    assert [(r.name, r.owner_id) for r in records] == [("sales.csv", root.user_id)]
    # The fork's files are copies: deleting the original leaves them whole.
    await services.conversations.delete(root, alice.conversation_id)
    content = await services.files.open_content(root, records[0].id)
    assert b"".join([chunk async for chunk in content.chunks]) == CSV
