"""Assistants: creation, partial updates, listing with filters, publishing."""

from __future__ import annotations

import pytest

from sandbox_analyst.service import AssistantCreate, AssistantUpdate, Principal, Services


async def test_an_update_changes_only_the_fields_given(
    services: Services, alice: Principal
) -> None:
    created = await services.assistants.create(
        alice,
        AssistantCreate(
            name="analyst",
            instructions="Be brief.",
            model="gpt-x",
            tools=["execute_code"],
            timeout_s=30,
            memory_mb=1024,
        ),
    )
    updated = await services.assistants.update(
        alice, created.id, AssistantUpdate.model_validate({"timeout_s": None, "name": "renamed"})
    )
    assert updated.name == "renamed"
    assert updated.timeout_s is None  # null clears an optional limit
    assert (updated.instructions, updated.model, updated.tools) == (
        "Be brief.",
        "gpt-x",
        ["execute_code"],
    )
    assert updated.memory_mb == 1024
    unchanged = await services.assistants.update(
        alice, created.id, AssistantUpdate.model_validate({"description": None})
    )
    assert unchanged.description == ""  # required text is never set to null
    assert unchanged.updated_at >= created.updated_at


async def test_listing_shows_mine_and_public_with_filters(
    services: Services, alice: Principal, bob: Principal
) -> None:
    await services.assistants.create(alice, AssistantCreate(name="Sales helper"))
    await services.assistants.create(
        alice, AssistantCreate(name="Public stats", visibility="public")
    )
    await services.assistants.create(bob, AssistantCreate(name="Bob's own"))

    def names(assistants: list) -> set[str]:  # type: ignore[type-arg]
        return {a.name for a in assistants}

    assert names(await services.assistants.list(bob)) == {"Public stats", "Bob's own"}
    assert names(await services.assistants.list(bob, mine=True)) == {"Bob's own"}
    assert names(await services.assistants.list(bob, visibility="public")) == {"Public stats"}
    assert names(await services.assistants.list(alice, query="STAT")) == {"Public stats"}
    assert names(await services.assistants.list(alice, query="%")) == set()
    assert len(await services.assistants.list(alice, limit=1)) == 1


async def test_publish_and_unpublish(services: Services, alice: Principal, bob: Principal) -> None:
    created = await services.assistants.create(alice, AssistantCreate(name="a"))
    await services.assistants.set_visibility(alice, created.id, "public")
    assert (await services.assistants.get(bob, created.id)).visibility == "public"
    await services.assistants.set_visibility(alice, created.id, "private")
    assert await services.assistants.list(bob) == []


async def test_deleting_an_assistant_keeps_conversations_with_it(
    services: Services, alice: Principal, bob: Principal
) -> None:
    shared = await services.assistants.create(
        alice, AssistantCreate(name="shared", visibility="public")
    )
    conversation = await services.conversations.create(bob, shared.id)
    await services.assistants.delete(alice, shared.id)
    kept = await services.conversations.get(bob, conversation.id)
    assert kept.conversation.assistant_id is None


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "x", "memory_mb": 100},
        {"name": "x", "tools": ["rm -rf"]},
        {"name": "x", "max_iterations": 0},
        {"name": "x", "provider": "other"},
        {"name": "x", "timeout_s": 0},
    ],
)
def test_limits_and_choices_are_validated(spec: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(k for k in spec if k != "name")):
        AssistantCreate.model_validate(spec)
