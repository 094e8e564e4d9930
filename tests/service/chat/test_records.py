"""The conversation's stored sandbox id: kept per conversation, written without reordering
the conversation list (it is bookkeeping, not an edit)."""

from __future__ import annotations

from sandbox_analyst.service import AssistantCreate, Principal, Services
from sandbox_analyst.service.chat.records import StoredSandboxIds


async def test_a_stored_sandbox_id_is_read_back_and_leaves_updated_at(
    services: Services, alice: Principal
) -> None:
    assistant = await services.assistants.create(alice, AssistantCreate(name="a"))
    first = await services.conversations.create(alice, assistant.id)
    second = await services.conversations.create(alice, assistant.id)
    ids = StoredSandboxIds(services.db)
    assert await ids.load(first.id) is None
    before = (await services.conversations.get(alice, first.id)).conversation.updated_at

    await ids.save(first.id, "0f3a9c")

    assert await ids.load(first.id) == "0f3a9c"
    assert await ids.load(second.id) is None
    after = (await services.conversations.get(alice, first.id)).conversation.updated_at
    assert after == before
    assert await ids.load("no-such-conversation") is None
