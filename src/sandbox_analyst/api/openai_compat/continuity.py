"""Which of our conversations a chat front end's request continues.

Front ends send the whole chat every time; the sandbox (variables, files) lives in our
conversation, so each chat of theirs must map to one conversation of ours. The key is, first
found: the `X-Conversation-Id` header (LibreChat, through its header templates), the
`X-OpenWebUI-Chat-Id` header (Open WebUI with user-info headers on), else one derived from
the caller and the chat's first user message. A derived key cannot tell two chats that open
with the same words apart, so a request holding a single user message (a chat's first turn)
always starts a new conversation under it.

Keys are per assistant: a chat that switches model gets a conversation (and sandbox) of its
own for the new assistant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sandbox_analyst.api.openai_compat.errors import OpenAIError
from sandbox_analyst.api.openai_compat.schemas import IncomingMessage

CONVERSATION_HEADERS = ("x-conversation-id", "x-openwebui-chat-id")
# What an unfilled header template or a not-yet-saved chat sends instead of an id.
_NO_ID = {"", "new", "null", "undefined", "none"}
_MAX_VERBATIM = 128
TITLE_LENGTH = 80


@dataclass(frozen=True)
class ConversationKey:
    value: str  # stored as the conversation's external_key
    start_new: bool  # move the key to a fresh conversation


def conversation_key(
    headers: Mapping[str, str],
    *,
    user_id: str,
    assistant_id: str,
    messages: Sequence[IncomingMessage],
) -> ConversationKey:
    for header in CONVERSATION_HEADERS:
        value = headers.get(header, "").strip()
        if value.lower() in _NO_ID or "{{" in value:
            continue
        if len(value) > _MAX_VERBATIM or not value.isprintable():
            value = "sha256:" + hashlib.sha256(value.encode()).hexdigest()
        return ConversationKey(f"{header}:{assistant_id}:{value}", start_new=False)
    user_texts = [m.text for m in messages if m.role == "user"]
    seed = f"{user_id}\0{user_texts[0] if user_texts else ''}"
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return ConversationKey(f"derived:{assistant_id}:{digest}", start_new=len(user_texts) <= 1)


def new_turn(messages: Sequence[IncomingMessage]) -> tuple[int, IncomingMessage]:
    """The user message this request asks us to answer, with its index.

    Our conversation already holds the history, so only this message is sent to the agent.
    It is the last user message whether or not the client's earlier messages match what we
    stored: after an edit or a regeneration they differ, and we still answer the newest
    message, against our own history and the sandbox state it built, rather than start over
    and lose the variables the analysis so far made."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            return index, messages[index]
    raise OpenAIError(400, "the request holds no user message", param="messages")


def conversation_title(text: str) -> str:
    """A one-line title from a message: its first line, shortened."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    line = "".join(ch for ch in line if ch.isprintable())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"
