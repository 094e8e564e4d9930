"""Every endpoint x {owner, other user, admin, anonymous, revoked key}, from ONE table.

`test_every_route_is_in_the_table` fails when an endpoint is added without rows here, so
no endpoint can be forgotten. Objects named in paths/bodies (`{assistant}`...) belong to
alice, the owner (see `build_world` in conftest).

Each row is one test and each actor a subtest. The actors that must be refused go first,
then the owner, in one world; the admin gets a world of their own, since owner and admin
may both do something that cannot be done twice (a delete)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sandbox_analyst.service import Services
from tests.api.conftest import CSV_BYTES, World, build_world

pytestmark = pytest.mark.asyncio(loop_scope="session")

ACTORS = ("owner", "other", "admin", "anonymous", "revoked")


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expected: tuple[int, int, int, int, int]  # in the order of ACTORS
    json: dict[str, Any] | None = None
    upload: bool = False

    @property
    def route(self) -> str:
        return self.method + " " + self.path.split("?")[0]


# Routes as the OpenAPI document names them -> the placeholders used below.
_ROUTE_PARAMS = {
    "/v1/models/{assistant}": "/v1/models/{model_id}",  # a model is named by an assistant id
    "{assistant}": "{assistant_id}",
    "{public_assistant}": "{assistant_id}",
    "{conversation}": "{conversation_id}",
    "{file}": "{file_id}",
    "{task}": "{task_id}",
    "{task_file}": "{path}",
    "{confirmation}": "{confirmation_id}",
    "{connection}": "{ref}",
    "{mcp_server}": "{ref}",
    "/users/alice/": "/users/{name}/",  # a user is named by their name
}
_NO_AUTH = (401, 401)

TABLE: list[Row] = [
    Row("GET", "/api/health", (200, 200, 200, 200, 200)),
    Row("GET", "/api/me", (200, 200, 200, *_NO_AUTH)),
    Row("GET", "/api/ui/settings", (200, 200, 200, 200, 200)),
    # The templates an assistant may name: any signed-in user (the assistant editor lists them).
    Row("GET", "/api/templates", (200, 200, 200, *_NO_AUTH)),
    # Operations: the metrics are an admin's (tests/api/test_metrics.py: other settings).
    Row("GET", "/metrics", (403, 403, 200, *_NO_AUTH)),
    Row("GET", "/api/admin/usage", (403, 403, 200, *_NO_AUTH)),
    Row("GET", "/api/admin/egress", (403, 403, 200, *_NO_AUTH)),
    # Quotas: everyone sees their own; only an admin sees or sets another user's.
    Row("GET", "/api/me/quota", (200, 200, 200, *_NO_AUTH)),
    Row("GET", "/api/admin/users/alice/quota", (403, 403, 200, *_NO_AUTH)),
    Row(
        "PUT",
        "/api/admin/users/alice/quota",
        (403, 403, 200, *_NO_AUTH),
        json={"turns_per_day": 100},
    ),
    # Assistants: private ones do not exist for others; public ones are read-only for them.
    Row("POST", "/api/assistants", (201, 201, 201, *_NO_AUTH), json={"name": "new one"}),
    Row("GET", "/api/assistants", (200, 200, 200, *_NO_AUTH)),
    Row("GET", "/api/assistants/{assistant}", (200, 404, 200, *_NO_AUTH)),
    Row("GET", "/api/assistants/{public_assistant}", (200, 200, 200, *_NO_AUTH)),
    Row("PATCH", "/api/assistants/{assistant}", (200, 404, 200, *_NO_AUTH), json={"model": "m"}),
    Row(
        "PATCH",
        "/api/assistants/{public_assistant}",
        (200, 403, 200, *_NO_AUTH),
        json={"model": "m"},
    ),
    Row("DELETE", "/api/assistants/{assistant}", (204, 404, 204, *_NO_AUTH)),
    Row("DELETE", "/api/assistants/{public_assistant}", (204, 403, 204, *_NO_AUTH)),
    Row("POST", "/api/assistants/{assistant}/publish", (200, 404, 200, *_NO_AUTH)),
    Row("POST", "/api/assistants/{public_assistant}/unpublish", (200, 403, 200, *_NO_AUTH)),
    # Conversations: anyone may chat with a public assistant, never with a private one.
    Row(
        "POST",
        "/api/conversations",
        (201, 404, 201, *_NO_AUTH),
        json={"assistant_id": "{assistant}"},
    ),
    Row(
        "POST",
        "/api/conversations?public",
        (201, 201, 201, *_NO_AUTH),
        json={"assistant_id": "{public_assistant}"},
    ),
    Row("GET", "/api/conversations", (200, 200, 200, *_NO_AUTH)),
    Row("GET", "/api/conversations/{conversation}", (200, 404, 200, *_NO_AUTH)),
    Row(
        "PATCH",
        "/api/conversations/{conversation}",
        (200, 404, 200, *_NO_AUTH),
        json={"title": "renamed"},
    ),
    # Chat: whoever may see the conversation may post to it (no model is configured here,
    # so the turn is stored as failed; access is what is checked).
    Row(
        "POST",
        "/api/conversations/{conversation}/messages",
        (200, 404, 200, *_NO_AUTH),
        json={"content": "hello"},
    ),
    Row("POST", "/api/conversations/{conversation}/cancel", (200, 404, 200, *_NO_AUTH)),
    Row("GET", "/api/conversations/{conversation}/export.ipynb", (200, 404, 200, *_NO_AUTH)),
    Row("GET", "/api/conversations/{conversation}/export.py", (200, 404, 200, *_NO_AUTH)),
    # A fork is the caller's own conversation; an admin may fork anyone's.
    Row("POST", "/api/conversations/{conversation}/fork", (201, 404, 201, *_NO_AUTH)),
    Row("DELETE", "/api/conversations/{conversation}", (204, 404, 204, *_NO_AUTH)),
    # Files and artifacts: only ever their owner's (and an admin's).
    Row("POST", "/api/files", (201, 201, 201, *_NO_AUTH), upload=True),
    Row(
        "POST",
        "/api/files?conversation_id={conversation}",
        (201, 404, 201, *_NO_AUTH),
        upload=True,
    ),
    Row("GET", "/api/files", (200, 200, 200, *_NO_AUTH)),
    Row("GET", "/api/files/{file}", (200, 404, 200, *_NO_AUTH)),
    Row("GET", "/api/files/{file}/content", (200, 404, 200, *_NO_AUTH)),
    Row("POST", "/api/files/{file}/link", (200, 404, 200, *_NO_AUTH)),
    Row("GET", "/api/files/{file}/preview", (200, 404, 200, *_NO_AUTH)),
    Row(
        "POST",
        "/api/files/{file}/attach",
        (200, 404, 200, *_NO_AUTH),
        json={"conversation_id": "{conversation}"},
    ),
    Row("DELETE", "/api/files/{file}", (204, 404, 204, *_NO_AUTH)),
    # Tasks: only ever their owner's (and an admin's). No model is configured here, so a new
    # task is refused (503 model_unavailable) after the access checks.
    Row("POST", "/api/tasks", (503, 503, 503, *_NO_AUTH), json={"prompt": "hello"}),
    Row("GET", "/api/tasks", (200, 200, 200, *_NO_AUTH)),
    Row("GET", "/api/tasks/{task}", (200, 404, 200, *_NO_AUTH)),
    Row("GET", "/api/tasks/{task}/events", (200, 404, 200, *_NO_AUTH)),
    Row("GET", "/api/tasks/{task}/files/{task_file}", (200, 404, 200, *_NO_AUTH)),
    Row("GET", "/api/tasks/{task}/result.zip", (200, 404, 200, *_NO_AUTH)),
    Row("POST", "/api/tasks/{task}/cancel", (200, 404, 200, *_NO_AUTH)),
    # Only a running task has commands waiting: for the owner too this one is not found.
    Row(
        "POST",
        "/api/tasks/{task}/confirmations/{confirmation}",
        (404, 404, 404, *_NO_AUTH),
        json={"allow": True},
    ),
    # Database connections: a private one does not exist for others.
    Row(
        "POST",
        "/api/connections",
        (201, 201, 201, *_NO_AUTH),
        json={"name": "other", "url": "postgresql://u:pw@127.0.0.1:1/db"},
    ),
    Row("GET", "/api/connections", (200, 200, 200, *_NO_AUTH)),
    Row("GET", "/api/connections/{connection}", (200, 404, 200, *_NO_AUTH)),
    Row("POST", "/api/connections/{connection}/test", (200, 404, 200, *_NO_AUTH)),
    Row("GET", "/api/connections/{connection}/queries", (200, 404, 200, *_NO_AUTH)),
    Row("DELETE", "/api/connections/{connection}", (204, 404, 204, *_NO_AUTH)),
    # MCP servers: an admin's to register, test and remove; what their tools are, anyone's.
    Row(
        "POST",
        "/api/admin/mcp-servers",
        (403, 403, 201, *_NO_AUTH),
        json={"name": "other", "url": "http://127.0.0.1:1/mcp"},
    ),
    Row("GET", "/api/admin/mcp-servers", (403, 403, 200, *_NO_AUTH)),
    Row("GET", "/api/admin/mcp-servers/calls", (200, 200, 200, *_NO_AUTH)),
    Row("GET", "/api/admin/mcp-servers/{mcp_server}", (403, 403, 200, *_NO_AUTH)),
    Row(
        "PATCH",
        "/api/admin/mcp-servers/{mcp_server}",
        (403, 403, 200, *_NO_AUTH),
        json={"enabled": False},
    ),
    Row("POST", "/api/admin/mcp-servers/{mcp_server}/test", (403, 403, 200, *_NO_AUTH)),
    # Nothing listens at its address: its tools cannot be listed, which is a clear 422.
    Row("GET", "/api/admin/mcp-servers/{mcp_server}/tools", (403, 403, 422, *_NO_AUTH)),
    Row("DELETE", "/api/admin/mcp-servers/{mcp_server}", (403, 403, 204, *_NO_AUTH)),
    Row("GET", "/api/mcp-tools", (200, 200, 200, *_NO_AUTH)),
    # The OpenAI-compatible API: an assistant is a model for whoever may use it.
    Row("GET", "/v1/models", (200, 200, 200, *_NO_AUTH)),
    Row("GET", "/v1/models/{assistant}", (200, 404, 200, *_NO_AUTH)),
    Row(
        "POST",
        "/v1/chat/completions",
        (200, 404, 200, *_NO_AUTH),
        json={"model": "{assistant}", "messages": [{"role": "user", "content": "hello"}]},
    ),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, object_id in ids.items():
            value = value.replace("{" + name + "}", object_id)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


async def _call(client: httpx.AsyncClient, world: World, row: Row, actor: str) -> httpx.Response:
    path = _fill(row.path.replace("?public", ""), world.ids)
    kwargs: dict[str, Any] = {"headers": world.headers(actor)}
    if row.json is not None:
        kwargs["json"] = _fill(row.json, world.ids)
    if row.upload:
        kwargs["files"] = {"file": ("data.csv", CSV_BYTES, "text/csv")}
    return await client.request(row.method, path, **kwargs)


@pytest.mark.parametrize("row", TABLE, ids=lambda row: f"{row.method} {row.path}")
async def test_access(
    client: httpx.AsyncClient,
    services: Services,
    world: World,
    row: Row,
    subtests: pytest.Subtests,
) -> None:
    expected = dict(zip(ACTORS, row.expected, strict=True))
    for actor in ("anonymous", "revoked", "other", "owner", "admin"):
        target = world if actor != "admin" else await build_world(services, client, "admin's ")
        with subtests.test(actor=actor):
            response = await _call(client, target, row, actor)
            assert response.status_code == expected[actor], response.text
            if expected[actor] >= 400:
                assert response.json()["error"]["code"]


async def test_every_route_is_in_the_table(app: FastAPI) -> None:
    documented = {
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    covered = set()
    for row in TABLE:
        route = row.route
        for placeholder, parameter in _ROUTE_PARAMS.items():
            route = route.replace(placeholder, parameter)
        covered.add(route)
    assert documented - covered == set(), "add rows to TABLE for these endpoints"


async def test_publishing_shows_the_assistant_never_its_conversations(
    client: httpx.AsyncClient, world: World
) -> None:
    owner, other = world.headers("owner"), world.headers("other")
    await client.post(f"/api/assistants/{world.ids['assistant']}/publish", headers=owner)
    assistant = await client.get(f"/api/assistants/{world.ids['assistant']}", headers=other)
    assert assistant.status_code == 200
    listed = await client.get("/api/conversations", headers=other)
    assert listed.json() == []
    hidden = await client.get(f"/api/conversations/{world.ids['conversation']}", headers=other)
    assert hidden.status_code == 404


async def test_lists_show_only_what_the_caller_may_see(
    client: httpx.AsyncClient, world: World
) -> None:
    other = world.headers("other")
    names = {a["name"] for a in (await client.get("/api/assistants", headers=other)).json()}
    assert names == {"public_assistant"}
    assert (await client.get("/api/files", headers=other)).json() == []


async def test_a_signed_link_works_without_credentials_for_that_file_only(
    client: httpx.AsyncClient, world: World
) -> None:
    owner = world.headers("owner")
    link = (await client.post(f"/api/files/{world.ids['file']}/link", headers=owner)).json()
    response = await client.get(link["url"])
    assert response.status_code == 200
    assert response.content == CSV_BYTES
    other_file = await client.post(
        "/api/files", files={"file": ("b.csv", CSV_BYTES)}, headers=owner
    )
    signature = link["url"].split("sig=")[1]
    forged = await client.get(f"/api/files/{other_file.json()['id']}/content?sig={signature}")
    assert forged.status_code == 404
