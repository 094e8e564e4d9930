"""The access rules, at the service layer where they are enforced."""

from __future__ import annotations

import pytest

from sandbox_analyst.service import (
    AssistantCreate,
    AssistantUpdate,
    Forbidden,
    NotFound,
    Principal,
    Services,
)
from sandbox_analyst.store import as_stream


async def test_private_assistants_do_not_exist_for_others(
    services: Services, alice: Principal, bob: Principal, root: Principal
) -> None:
    mine = await services.assistants.create(alice, AssistantCreate(name="mine"))
    with pytest.raises(NotFound):
        await services.assistants.get(bob, mine.id)
    with pytest.raises(NotFound):
        await services.assistants.update(bob, mine.id, AssistantUpdate(name="stolen"))
    with pytest.raises(NotFound):
        await services.conversations.create(bob, mine.id)
    assert (await services.assistants.get(root, mine.id)).id == mine.id


async def test_public_assistants_are_usable_but_not_changeable_by_others(
    services: Services, alice: Principal, bob: Principal, root: Principal
) -> None:
    shared = await services.assistants.create(
        alice, AssistantCreate(name="shared", visibility="public")
    )
    assert (await services.assistants.get(bob, shared.id)).name == "shared"
    conversation = await services.conversations.create(bob, shared.id)
    assert conversation.owner_id == bob.user_id
    with pytest.raises(Forbidden):
        await services.assistants.update(bob, shared.id, AssistantUpdate(name="mine now"))
    with pytest.raises(Forbidden):
        await services.assistants.delete(bob, shared.id)
    updated = await services.assistants.update(root, shared.id, AssistantUpdate(model="m"))
    assert updated.model == "m"


async def test_conversations_and_files_are_private_even_for_public_assistants(
    services: Services, alice: Principal, bob: Principal, root: Principal
) -> None:
    shared = await services.assistants.create(
        alice, AssistantCreate(name="shared", visibility="public")
    )
    conversation = await services.conversations.create(alice, shared.id)
    record = await services.files.upload(
        alice, as_stream(b"a,b\n1,2\n"), filename="x.csv", conversation_id=conversation.id
    )
    for attempt in (
        services.conversations.get(bob, conversation.id),
        services.conversations.rename(bob, conversation.id, "mine"),
        services.conversations.delete(bob, conversation.id),
        services.files.get(bob, record.id),
        services.files.open_content(bob, record.id),
        services.files.signed_url(bob, record.id),
        services.files.delete(bob, record.id),
    ):
        with pytest.raises(NotFound):
            await attempt
    assert await services.conversations.list(bob) == []
    assert await services.files.list(bob) == []
    assert (await services.conversations.get(root, conversation.id)).conversation.id
    assert (await services.files.get(root, record.id)).id == record.id
