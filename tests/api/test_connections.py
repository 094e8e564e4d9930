"""`/api/connections` over HTTP: the URL goes in and never comes back (masked in every
answer); bad URLs, sharing and SQLite files by a non-admin are refused with the field named;
a test says whether the database answers; the audit log shows what the agent ran."""

from __future__ import annotations

import httpx
import pytest

from sandbox_analyst.service import Services
from tests.api.conftest import World
from tests.fixtures.databases import PG_PASSWORD

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_url_is_never_returned(
    client: httpx.AsyncClient, world: World, postgres_url: str
) -> None:
    owner = world.headers("owner")

    created = await client.post(
        "/api/connections",
        json={"name": "shop", "url": postgres_url, "description": "orders"},
        headers=owner,
    )
    listed = await client.get("/api/connections", headers=owner)
    one = await client.get("/api/connections/shop", headers=owner)
    tested = await client.post("/api/connections/shop/test", headers=owner)

    assert created.status_code == 201, created.text
    for response in (created, listed, one, tested):
        assert PG_PASSWORD not in response.text
    body = created.json()
    assert body["url"].startswith("postgresql+psycopg://reader_")
    assert ":***@" in body["url"]
    assert (body["name"], body["dialect"], body["shared"]) == ("shop", "postgresql", False)
    assert [c["name"] for c in listed.json()] == ["shop", "warehouse"]
    assert tested.json()["ok"] is True
    assert tested.json()["detail"].startswith("postgresql ")


async def test_an_unreachable_database_is_a_failed_test_not_an_error(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.post("/api/connections/warehouse/test", headers=world.headers("owner"))

    assert response.status_code == 200
    assert response.json()["ok"] is False
    assert "could not connect" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "x", "url": "oracle://u:pw@h/db"}, 422, "url"),
        ({"name": "x", "url": "mysql://u:pw@h/db?local_infile=1"}, 422, "url"),
        ({"name": "x", "url": "sqlite:////etc/passwd"}, 403, "url"),  # an admin's to add
        ({"name": "x", "url": "duckdb:////etc/passwd"}, 403, "url"),
        ({"name": "x", "url": "postgresql://u:pw@h/db", "shared": True}, 403, "shared"),
        ({"name": "1 bad name", "url": "postgresql://u:pw@h/db"}, 422, "name"),
        ({"name": "warehouse", "url": "postgresql://u:pw@h/db"}, 409, "name"),
    ],
)
async def test_what_cannot_be_added_is_refused_with_the_field(
    client: httpx.AsyncClient, world: World, body: dict, status: int, field: str
) -> None:
    response = await client.post("/api/connections", json=body, headers=world.headers("owner"))

    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field
    assert "u:pw" not in response.text


async def test_a_sqlite_file_is_an_admins_to_add_and_share(
    client: httpx.AsyncClient, world: World, sqlite_url: str
) -> None:
    body = {"name": "shop", "url": sqlite_url, "shared": True}

    refused = await client.post(
        "/api/connections", json={**body, "shared": False}, headers=world.headers("owner")
    )
    added = await client.post("/api/connections", json=body, headers=world.headers("admin"))
    seen = await client.get("/api/connections", headers=world.headers("other"))

    assert refused.status_code == 403
    assert refused.json()["error"]["field"] == "url"
    assert added.status_code == 201, added.text
    assert [c["name"] for c in seen.json()] == ["shop"]
    other_delete = await client.delete("/api/connections/shop", headers=world.headers("other"))
    assert other_delete.status_code == 403


async def test_the_audit_log_of_a_connection(
    client: httpx.AsyncClient, services: Services, world: World, sqlite_url: str
) -> None:
    added = await client.post(
        "/api/connections", json={"name": "shop", "url": sqlite_url}, headers=world.headers("admin")
    )
    admin = (await services.users.get_user("root")).id
    databases = await services.connections.for_turn(admin, None, None)
    await databases.query("shop", "SELECT count(*) FROM orders")

    response = await client.get(
        f"/api/connections/{added.json()['id']}/queries", headers=world.headers("admin")
    )

    (entry,) = response.json()
    assert (entry["operation"], entry["statement"], entry["outcome"], entry["rows"]) == (
        "query",
        "SELECT count(*) FROM orders",
        "ok",
        1,
    )
