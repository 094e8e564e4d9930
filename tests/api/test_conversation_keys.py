"""`POST /api/conversations` with `external_key`: a front end that keeps its own chats (the
Open WebUI Pipe) finds the conversation it started for one of them, instead of keeping a
table of its own."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import World

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_key_finds_the_conversation_made_under_it(
    world: World, client: httpx.AsyncClient
) -> None:
    owner = world.headers("owner")
    body = {"assistant_id": world.ids["assistant"], "external_key": "chat-1", "title": "First"}

    created = await client.post("/api/conversations", json=body, headers=owner)
    again = await client.post("/api/conversations", json={**body, "title": "Other"}, headers=owner)
    other_chat = await client.post(
        "/api/conversations", json={**body, "external_key": "chat-2"}, headers=owner
    )

    assert (created.status_code, again.status_code, other_chat.status_code) == (201, 200, 201)
    assert again.json()["id"] == created.json()["id"]
    assert again.json()["title"] == "First"
    assert other_chat.json()["id"] != created.json()["id"]


async def test_keys_are_per_user(world: World, client: httpx.AsyncClient) -> None:
    body = {"assistant_id": world.ids["public_assistant"], "external_key": "shared-name"}

    mine = await client.post("/api/conversations", json=body, headers=world.headers("owner"))
    theirs = await client.post("/api/conversations", json=body, headers=world.headers("other"))

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["owner_id"] != mine.json()["owner_id"]


async def test_a_key_used_with_another_assistant_is_refused(
    world: World, client: httpx.AsyncClient
) -> None:
    owner = world.headers("owner")
    body = {"assistant_id": world.ids["assistant"], "external_key": "chat-x"}
    await client.post("/api/conversations", json=body, headers=owner)

    response = await client.post(
        "/api/conversations",
        json={**body, "assistant_id": world.ids["public_assistant"]},
        headers=owner,
    )

    assert response.status_code == 409
    assert "another assistant" in response.text


async def test_an_empty_key_is_invalid(world: World, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/conversations",
        json={"assistant_id": world.ids["assistant"], "external_key": ""},
        headers=world.headers("owner"),
    )

    assert response.status_code == 422
