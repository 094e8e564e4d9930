"""Chat turns end to end: the real app (tests/fixtures/apps.py: over httpx's ASGI transport,
or `live_url`, a live uvicorn server, where a test needs a real connection), the scripted fake
LLM server speaking OpenAI's and Anthropic's wire formats, and real sandboxes. Nothing is
mocked in between.

Starting a sandbox backend costs seconds, so one `SessionManager` (on the local backend) serves
the whole session, shared by a fresh app (fresh database) per test. Its tests therefore run on the
session's event loop: `pytestmark = pytest.mark.asyncio(loop_scope="session")`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from sandbox_analyst.config import ProviderSettings, Settings
from sandbox_analyst.sandbox import SessionManager
from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer
from tests.fixtures.models import fake_endpoint, fake_llm_settings
from tests.fixtures.sandboxes import CHAT_SANDBOX


@pytest.fixture
def app_settings(tmp_path: Path, database_url: str, fake: FakeLLMServer) -> Settings:
    """The model is the fake server speaking OpenAI; an "anthropic" provider is the same
    server speaking Anthropic's protocol."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        sandbox=CHAT_SANDBOX,
        llm=fake_llm_settings(
            fake,
            providers={
                "anthropic": ProviderSettings(
                    kind="anthropic", **fake_endpoint(fake, "anthropic", model="claude-test")
                )
            },
        ),
    )


@pytest.fixture
def app_sessions(sandbox_sessions: SessionManager) -> SessionManager:
    return sandbox_sessions


@dataclass
class Reply:
    """One streamed turn: its events in order."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def of(self, name: str) -> list[dict[str, Any]]:
        return [data for event, data in self.events if event == name]

    @property
    def end(self) -> dict[str, Any]:
        return self.of("message_end")[-1]

    @property
    def text(self) -> str:
        return "".join(data["text"] for data in self.of("token"))

    @property
    def stdout(self) -> str:
        return "".join(data["text"] for data in self.of("stdout"))


def parse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in body.split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith(":")]
        if not lines:
            continue
        name = next(line[7:] for line in lines if line.startswith("event: "))
        data = "".join(line[6:] for line in lines if line.startswith("data: "))
        events.append((name, json.loads(data)))
    return events


@dataclass
class Chatter:
    """A user with an API key, an assistant and a conversation, talking over HTTP."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    assistant_id: str
    conversation_id: str

    async def upload(self, name: str, data: bytes) -> str:
        response = await self.client.post(
            "/api/files",
            params={"conversation_id": self.conversation_id},
            files={"file": (name, data, "text/csv")},
            headers=self.headers,
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    async def ask(self, content: str, **body: Any) -> Reply:
        response = await self.client.post(
            f"/api/conversations/{self.conversation_id}/messages",
            json={"content": content, **body},
            headers={**self.headers, "Accept": "text/event-stream"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream")
        return Reply(parse_events(response.text))

    async def messages(self) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"/api/conversations/{self.conversation_id}", headers=self.headers
        )
        assert response.status_code == 200, response.text
        return response.json()["messages"]


async def make_chatter(
    services: Services,
    client: httpx.AsyncClient,
    name: str,
    *,
    provider: str = "openai",
    assistant: dict[str, Any] | None = None,
) -> Chatter:
    user = await services.users.create_user(name)
    headers = {"Authorization": f"Bearer {(await services.users.create_key(user.id)).secret}"}
    spec = {"name": f"{name}'s analyst", "provider": provider, **(assistant or {})}
    response = await client.post("/api/assistants", json=spec, headers=headers)
    assert response.status_code == 201, response.text
    assistant_id = response.json()["id"]
    response = await client.post(
        "/api/conversations", json={"assistant_id": assistant_id}, headers=headers
    )
    assert response.status_code == 201, response.text
    return Chatter(client, headers, assistant_id, response.json()["id"])


@pytest_asyncio.fixture(loop_scope="session")
async def alice(services: Services, client: httpx.AsyncClient) -> Chatter:
    return await make_chatter(services, client, "alice")


async def admin_headers(services: Services) -> dict[str, str]:
    """The headers of a new admin, root."""
    root = await services.users.create_user("root", admin=True)
    return {"Authorization": f"Bearer {(await services.users.create_key(root.id)).secret}"}
