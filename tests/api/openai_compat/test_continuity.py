"""Which conversation a request continues, which message is the new turn, and a title."""

from __future__ import annotations

import pytest

from sandbox_analyst.api.openai_compat import OpenAIError
from sandbox_analyst.api.openai_compat.continuity import (
    conversation_key,
    conversation_title,
    new_turn,
)
from sandbox_analyst.api.openai_compat.schemas import IncomingMessage


def messages(*pairs: tuple[str, str]) -> list[IncomingMessage]:
    return [IncomingMessage(role=role, content=content) for role, content in pairs]


CHAT = messages(("system", "Be brief"), ("user", "Load it"), ("assistant", "ok"), ("user", "Plot"))


def key(headers: dict[str, str], chat: list[IncomingMessage] = CHAT, user_id: str = "u1") -> object:
    return conversation_key(headers, user_id=user_id, assistant_id="a1", messages=chat)


def test_the_librechat_header_comes_first_then_open_webuis() -> None:
    both = {"x-conversation-id": "lc-1", "x-openwebui-chat-id": "ow-1"}
    assert key(both).value == "x-conversation-id:a1:lc-1"
    assert key({"x-openwebui-chat-id": "ow-1"}).value == "x-openwebui-chat-id:a1:ow-1"
    assert key(both).start_new is False


@pytest.mark.parametrize("value", ["", "new", "null", "{{LIBRECHAT_BODY_CONVERSATIONID}}"])
def test_a_header_without_a_real_id_is_skipped(value: str) -> None:
    assert key({"x-conversation-id": value}).value.startswith("derived:a1:")


def test_long_or_odd_ids_are_stored_as_a_hash() -> None:
    long_id = key({"x-conversation-id": "z" * 500}).value
    assert long_id.startswith("x-conversation-id:a1:sha256:")
    assert len(long_id) < 255


def test_the_derived_key_follows_the_user_and_the_first_message() -> None:
    later = key({})
    first_turn = key({}, messages(("user", "Load it")))
    assert later.value == first_turn.value
    assert key({}, user_id="u2").value != later.value
    assert key({}, messages(("user", "Other"), ("user", "Plot"))).value != later.value
    # A chat's first turn cannot be told from another chat opening the same way: start anew.
    assert first_turn.start_new is True
    assert later.start_new is False


def test_the_new_turn_is_the_last_user_message() -> None:
    assert new_turn(CHAT) == (3, CHAT[3])
    trailing = [*CHAT, IncomingMessage(role="assistant", content="prefill")]
    assert new_turn(trailing) == (3, CHAT[3])
    with pytest.raises(OpenAIError) as caught:
        new_turn(messages(("system", "x")))
    assert caught.value.status == 400


def test_text_parts_are_joined() -> None:
    message = IncomingMessage.model_validate(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "one"},
                {"type": "input_audio", "input_audio": {}},
                {"type": "text", "text": "two"},
            ],
        }
    )
    assert message.text == "one\ntwo"


def test_a_title_is_the_first_line_shortened() -> None:
    assert conversation_title("\n  Plot sales by month \nand more") == "Plot sales by month"
    long = conversation_title("word " * 50)
    assert len(long) == 80
    assert long.endswith("…")
