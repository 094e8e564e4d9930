"""`/api/admin/mcp-servers` and `/api/mcp-tools` over HTTP: header and env values go in and
never come back (only their names); the server gets its headers; bad registrations are a 4xx
naming the field; an assistant's owner picks from the catalog without learning how a server
is reached; the call log shows what the agent called."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import World
from tests.fixtures.mcp_tool_server import TOKEN, serving_tool_server

pytestmark = pytest.mark.asyncio(loop_scope="session")

ADMIN = "/api/admin/mcp-servers"


async def test_headers_reach_the_server_and_are_never_returned(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = world.headers("admin")
    async with serving_tool_server() as served:
        created = await client.post(
            ADMIN,
            json={
                "name": "web",
                "url": served.url,
                "headers": {"Authorization": TOKEN},
                "description": "exchange rates",
            },
            headers=admin,
        )
        listed = await client.get(ADMIN, headers=admin)
        shown = await client.get(f"{ADMIN}/web", headers=admin)
        tested = await client.post(f"{ADMIN}/web/test", headers=admin)
        tools = await client.get(f"{ADMIN}/web/tools", headers=admin)
        catalog = await client.get("/api/mcp-tools", headers=world.headers("other"))

    assert created.status_code == 201, created.text
    for response in (created, listed, shown, tested, tools, catalog):
        assert "s3cret-token" not in response.text
    body = shown.json()
    assert (body["transport"], body["url"], body["headers"]) == (
        "http",
        served.url,
        ["Authorization"],
    )
    assert {server["name"] for server in listed.json()} == {"rates", "web"}
    assert tested.json()["ok"] is True
    assert tested.json()["detail"] == "5 tools"
    assert [tool["entry"] for tool in tools.json()][:2] == ["web/lookup_rate", "web/draw_square"]
    assert {h.get("authorization") for h in served.headers} == {TOKEN}
    entries = {entry["server"]: entry for entry in catalog.json()}
    assert entries["web"]["error"] is None
    assert entries["web"]["description"] == "exchange rates"
    assert "url" not in entries["web"]
    assert "cannot be reached" in entries["rates"]["error"]  # nothing listens at its address


async def test_an_unreachable_server_is_a_failed_test_not_an_error(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.post(f"{ADMIN}/rates/test", headers=world.headers("admin"))

    assert response.status_code == 200
    assert response.json()["ok"] is False
    assert "the MCP server 'rates' cannot be reached" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "x", "command": "x", "url": "http://127.0.0.1:1/mcp"}, 422, None),
        ({"name": "x"}, 422, None),
        ({"name": "x", "url": "file:///etc/passwd"}, 422, "url"),
        ({"name": "x", "url": "http://127.0.0.1:1/mcp", "headers": {"a b": "v"}}, 422, "headers"),
        ({"name": "x", "command": "x", "env": {"1BAD": "v"}}, 422, "env"),
        ({"name": "-x", "command": "x"}, 422, "name"),
        ({"name": "x", "command": "x", "shell": True}, 422, "shell"),
        ({"name": "rates", "command": "x"}, 409, "name"),
    ],
)
async def test_what_cannot_be_registered_is_refused(
    client: httpx.AsyncClient, world: World, body: dict, status: int, field: str | None
) -> None:
    response = await client.post(ADMIN, json=body, headers=world.headers("admin"))

    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"]
    if field is not None:
        assert error["field"] == field


async def test_a_non_admin_cannot_register_and_an_unknown_server_is_404(
    client: httpx.AsyncClient, world: World
) -> None:
    refused = await client.post(
        ADMIN, json={"name": "mine", "command": "/bin/sh"}, headers=world.headers("owner")
    )
    missing = await client.get(f"{ADMIN}/nowhere", headers=world.headers("admin"))
    bad_patch = await client.patch(
        f"{ADMIN}/rates", json={"enabled": "perhaps"}, headers=world.headers("admin")
    )

    assert refused.status_code == 403
    assert "only an admin may register" in refused.json()["error"]["message"]
    assert missing.status_code == 404
    assert bad_patch.status_code == 422


async def test_a_disabled_server_leaves_the_catalog(
    client: httpx.AsyncClient, world: World
) -> None:
    disabled = await client.patch(
        f"{ADMIN}/rates", json={"enabled": False}, headers=world.headers("admin")
    )
    catalog = await client.get("/api/mcp-tools", headers=world.headers("owner"))

    assert disabled.json()["enabled"] is False
    assert "rates" not in {entry["server"] for entry in catalog.json()}
