"""Which conversation (and so which sandbox) a front end's request continues: its
conversation-id header (LibreChat, Open WebUI), else a key derived from the chat's first
message; and how each tool-step style reads."""

from __future__ import annotations

import pytest

from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.api.openai_compat.conftest import V1User

pytestmark = pytest.mark.asyncio(loop_scope="session")


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


async def ask(
    alice: V1User, fake: FakeLLMServer, code: str, messages: list[dict], headers: dict | None = None
) -> str:
    """Runs `code` in the conversation the request maps to; the answer's text."""
    fake.add_turns(Turn(tool_calls=[("execute_code", {"code": code})]), Turn(text="Done."))
    completion = await alice.client.chat.completions.create(
        model=alice.model, messages=messages, extra_headers=headers or {}
    )
    return completion.choices[0].message.content or ""


@pytest.mark.parametrize("header", ["X-Conversation-Id", "X-OpenWebUI-Chat-Id"])
async def test_a_conversation_header_keeps_one_sandbox_per_chat(
    fake: FakeLLMServer, alice: V1User, services: Services, header: str
) -> None:
    chat_a, chat_b = {header: "chat-a"}, {header: "chat-b"}
    await ask(alice, fake, "x = 41", [user("Set x")], chat_a)
    await ask(alice, fake, "x = 1", [user("Set x")], chat_b)

    # Messages the server never saw (an edited history) do not matter: the header does.
    answer_a = await ask(alice, fake, "print(x + 1)", [user("edited"), user("x + 1?")], chat_a)
    answer_b = await ask(alice, fake, "print(x + 1)", [user("x + 1?")], chat_b)

    assert "```text\n42\n```" in answer_a
    assert "```text\n2\n```" in answer_b
    conversations = await services.conversations.list(alice.principal)
    assert len(conversations) == 2
    assert {c.title for c in conversations} == {"Set x"}


async def test_without_a_header_the_chat_is_recognised_by_its_first_message(
    fake: FakeLLMServer, alice: V1User, services: Services
) -> None:
    await ask(alice, fake, "x = 41", [user("Load the data")])

    follow_up = await ask(
        alice, fake, "print(x + 1)", [user("Load the data"), assistant("Done."), user("x + 1?")]
    )
    # A chat that opens with the same words is a new chat: a new conversation, no x.
    fresh = await ask(alice, fake, "print(x + 1)", [user("Load the data")])

    assert "```text\n42\n```" in follow_up
    assert "NameError" in fresh
    assert len(await services.conversations.list(alice.principal)) == 2


async def test_an_unfilled_header_template_falls_back_to_the_derived_key(
    fake: FakeLLMServer, alice: V1User
) -> None:
    unfilled = {"X-Conversation-Id": "{{LIBRECHAT_BODY_CONVERSATIONID}}"}
    await ask(alice, fake, "y = 5", [user("Start")], unfilled)

    answer = await ask(alice, fake, "print(y)", [user("Start"), assistant("ok"), user("y?")], {})

    assert "```text\n5\n```" in answer


@pytest.mark.parametrize(
    ("style", "opening", "closing"),
    [
        ("markdown", "**Code**\n\n```python\n", None),
        ("details", "<details>\n<summary>Code</summary>\n\n```python\n", "</details>"),
        ("think", "<think>\nCode\n\n```python\n", "</think>"),
    ],
)
async def test_each_tool_style(
    fake: FakeLLMServer,
    alice: V1User,
    services: Services,
    style: str,
    opening: str,
    closing: str | None,
) -> None:
    services.settings.openai_compat.tool_style = style  # type: ignore[assignment]
    fake.add_turns(
        Turn(text="First I look.", tool_calls=[("execute_code", {"code": "print('seen')"})]),
        Turn(text="It printed seen."),
    )

    completion = await alice.client.chat.completions.create(
        model=alice.model, messages=[user("Look")]
    )

    text = completion.choices[0].message.content or ""
    assert text.startswith("First I look.\n\n" + opening + "print('seen')\n```")
    assert "```text\nseen\n```" in text
    assert text.rstrip().endswith("It printed seen.")
    for other in ("<details>", "<think>"):
        assert (other in text) == (opening.startswith(other))
    if closing is not None:
        assert text.index(closing) < text.index("It printed seen.")
