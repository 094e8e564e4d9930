"""A small world to act in, in the app of tests/fixtures/apps.py (fresh database, driven over
httpx's ASGI transport): alice (owner), bob (another user), root (admin), alice's revoked key.
Also one real server shared by the tests that need a socket (`shared_server`). Tests that use
the app run on the session's event loop, where it lives:
`pytestmark = pytest.mark.asyncio(loop_scope="session")`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from sandbox_analyst.config import Settings
from sandbox_analyst.service import Services
from sandbox_analyst.store import Task, TaskFile, TaskStep, as_stream
from tests.conftest import LiveServer, fresh_database

CSV_BYTES = b"city,sales\nOslo,10\nLima,12\n"


def bearer(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


@dataclass
class World:
    keys: dict[str, str | None]  # actor -> API key (None: anonymous)
    ids: dict[str, str]  # name -> id of the objects below

    def headers(self, actor: str) -> dict[str, str]:
        return bearer(self.keys[actor])


async def build_world(services: Services, client: httpx.AsyncClient, prefix: str = "") -> World:
    """alice owns a private assistant, a public assistant, a conversation and a file in it,
    and a database connection.
    `prefix` names the users apart, for a second world in the same database."""
    keys: dict[str, str | None] = {"anonymous": None}
    user_ids: dict[str, str] = {}
    for actor, name, admin in (
        ("owner", "alice", False),
        ("other", "bob", False),
        ("admin", "root", True),
    ):
        user = await services.users.create_user(prefix + name, admin=admin)
        user_ids[actor] = user.id
        keys[actor] = (await services.users.create_key(user.id)).secret
    revoked = await services.users.create_key(prefix + "alice")
    await services.users.revoke_key(revoked.record.id)
    keys["revoked"] = revoked.secret

    owner = bearer(keys["owner"])
    ids: dict[str, str] = {}
    for name, visibility in (("assistant", "private"), ("public_assistant", "public")):
        response = await client.post(
            "/api/assistants", json={"name": name, "visibility": visibility}, headers=owner
        )
        ids[name] = response.json()["id"]
    response = await client.post(
        "/api/conversations", json={"assistant_id": ids["assistant"]}, headers=owner
    )
    ids["conversation"] = response.json()["id"]
    response = await client.post(
        "/api/files",
        params={"conversation_id": ids["conversation"]},
        files={"file": ("sales.csv", CSV_BYTES, "text/csv")},
        headers=owner,
    )
    assert response.status_code == 201, response.text
    ids["file"] = response.json()["id"]
    ids["task"] = await finished_task(services, user_ids["owner"])
    ids["task_file"], ids["confirmation"] = TASK_FILE, "no-such-confirmation"
    # A database connection (nothing listens there: it is never reached by these tests).
    response = await client.post(
        "/api/connections",
        json={"name": "warehouse", "url": "postgresql://reader:pw@127.0.0.1:1/warehouse"},
        headers=owner,
    )
    assert response.status_code == 201, response.text
    ids["connection"] = response.json()["id"]
    # An MCP server an admin registered (nothing listens there either).
    name = "".join(ch for ch in prefix if ch.isalnum()) + "rates"
    response = await client.post(
        "/api/admin/mcp-servers",
        json={"name": name, "url": "http://127.0.0.1:1/mcp"},
        headers=bearer(keys["admin"]),
    )
    assert response.status_code == 201, response.text
    ids["mcp_server"] = name
    return World(keys=keys, ids=ids)


TASK_FILE = "result.txt"


async def finished_task(services: Services, owner_id: str) -> str:
    """A task of `owner_id` that ended with one result file (stored as a run stores it: no
    model is configured in this world)."""
    blob = await services.blobs.put(as_stream(b"42\n"))
    async with services.db.session() as session:
        task = Task(
            owner_id=owner_id,
            prompt="Compute the answer",
            template="default",
            permission="allow",
            max_steps=5,
            timeout_s=60.0,
            status="complete",
            summary="Wrote result.txt.",
        )
        session.add(task)
        await session.flush()
        session.add(TaskStep(task_id=task.id, seq=0, kind="task_end", data={"status": "complete"}))
        session.add(
            TaskFile(
                task_id=task.id,
                path=TASK_FILE,
                change="created",
                size=blob.size,
                sha256=blob.sha256,
                media_type="text/plain",
                storage_key=blob.key,
            )
        )
        return task.id


@pytest_asyncio.fixture(loop_scope="session")
async def world(services: Services, client: httpx.AsyncClient) -> World:
    return await build_world(services, client)


@dataclass
class SharedServer:
    server: LiveServer
    keys: dict[str, str]  # one user per test module that uses the server: name -> API key


SHARED_SERVER_USERS = ("fuzzer", "uploader")


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedServer]:
    """One `analyst serve` for the tests that need a real socket (starting one costs seconds);
    each user of it acts as its own user so they cannot see each other's objects."""
    directory = tmp_path_factory.mktemp("shared-server")
    with fresh_database(directory) as url:
        settings = Settings(
            data_dir=directory / "data", database_url=url, server={"max_upload_mb": 1}
        )

        async def seed() -> dict[str, str]:
            async with Services.running(settings) as services:
                keys = {}
                for name in SHARED_SERVER_USERS:
                    user = await services.users.create_user(name)
                    keys[name] = (await services.users.create_key(user.id)).secret
                return keys

        keys = asyncio.run(seed())
        server = LiveServer(settings)
        server.start()
        try:
            yield SharedServer(server=server, keys=keys)
        finally:
            server.stop()
