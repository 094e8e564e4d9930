"""Whatever the server committed survives a crash: SIGKILL, restart, everything is there."""

from __future__ import annotations

import asyncio

import httpx

from sandbox_analyst.config import Settings
from sandbox_analyst.service import Services
from tests.api.conftest import CSV_BYTES, bearer
from tests.conftest import LiveServer


async def _admin_key(settings: Settings) -> str:
    async with Services.running(settings) as services:
        user = await services.users.create_user("durable", admin=True)
        return (await services.users.create_key(user.id)).secret


def test_committed_objects_survive_sigkill(live_server: LiveServer, settings: Settings) -> None:
    key = asyncio.run(_admin_key(settings))
    live_server.start()
    with httpx.Client(base_url=live_server.base_url, headers=bearer(key), timeout=30) as http:
        assistant = http.post("/api/assistants", json={"name": "keeper"}).json()
        conversation = http.post(
            "/api/conversations", json={"assistant_id": assistant["id"], "title": "before"}
        ).json()
        http.patch(f"/api/conversations/{conversation['id']}", json={"title": "after"})
        uploaded = http.post(
            "/api/files",
            params={"conversation_id": conversation["id"]},
            files={"file": ("kept.csv", CSV_BYTES)},
        ).json()

    live_server.kill()
    live_server.start()

    with httpx.Client(base_url=live_server.base_url, headers=bearer(key), timeout=30) as http:
        assert http.get(f"/api/assistants/{assistant['id']}").json()["name"] == "keeper"
        assert http.get(f"/api/conversations/{conversation['id']}").json()["title"] == "after"
        assert http.get(f"/api/files/{uploaded['id']}").json()["sha256"] == uploaded["sha256"]
        assert http.get(f"/api/files/{uploaded['id']}/content").content == CSV_BYTES
