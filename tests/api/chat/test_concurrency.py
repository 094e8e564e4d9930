"""Many conversations at once: each has its own sandbox, none sees another's, all complete."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.api.chat.conftest import make_chatter

pytestmark = pytest.mark.asyncio(loop_scope="session")

COUNT_TURN = "n = globals().get('n', 0) + 1\nprint('turn', n)"


def by_conversation(code_for: object) -> object:
    """A model that runs code when asked, then answers with its output. Computed from each
    request (`code_for(question)` gives the code), so concurrent conversations can share one
    fake server in any order."""

    def answer(body: dict) -> Turn:
        messages = body["messages"]
        if messages[-1]["role"] == "tool":
            return Turn(text=f"Result: {last_tool_result(body)}")
        question = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        return Turn(tool_calls=[("execute_code", {"code": code_for(question)})])

    return answer


def mark_or_look(question: str) -> str:
    if question.startswith("Leave a mark as "):
        who = question.removeprefix("Leave a mark as ")
        return f"secret = {who!r}\nopen('{who}.txt', 'w').write(secret)"
    return "import os\nprint(sorted(os.listdir('.')), globals().get('secret'))"


async def test_two_users_chatting_at_once_never_see_each_others_sandbox(
    fake: FakeLLMServer, services: Services, client: httpx.AsyncClient
) -> None:
    alice = await make_chatter(services, client, "alice")
    bob = await make_chatter(services, client, "bob")
    fake.add_turns(*[by_conversation(mark_or_look)] * 8)

    first = await asyncio.gather(alice.ask("Leave a mark as alice"), bob.ask("Leave a mark as bob"))
    second = await asyncio.gather(alice.ask("What do you see?"), bob.ask("What do you see?"))

    assert all(reply.end["status"] == "complete" for reply in first + second)
    assert second[0].stdout.strip() == "['alice.txt'] alice"
    assert second[1].stdout.strip() == "['bob.txt'] bob"
    assert services.sandboxes.get(alice.conversation_id) is not services.sandboxes.get(
        bob.conversation_id
    )


async def test_twenty_conversations_of_three_turns_all_complete(
    fake: FakeLLMServer, services: Services, client: httpx.AsyncClient
) -> None:
    chatters = [await make_chatter(services, client, f"user{i}") for i in range(20)]
    fake.add_turns(*[by_conversation(lambda _question: COUNT_TURN)] * (20 * 3 * 2))

    async def converse(chatter) -> list[str]:
        return [(await chatter.ask(f"Turn {t}")).text for t in range(3)]

    answers = await asyncio.gather(*(converse(chatter) for chatter in chatters))

    for texts in answers:
        assert [re.findall(r"turn (\d+)", text) for text in texts] == [["1"], ["2"], ["3"]]
    for chatter in chatters:
        messages = await chatter.messages()
        assert [m["status"] for m in messages if m["role"] == "assistant"] == ["complete"] * 3
