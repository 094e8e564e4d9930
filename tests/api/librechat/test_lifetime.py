"""What outlives what: a session's files outlive the server process (they are in the database
and the blob store), and a server with no sandbox to spare says when to retry, as LibreChat's
tool expects (429 `rate_limited` with `retry_after_seconds`)."""

from __future__ import annotations

import httpx
import pytest

from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SessionKey, SessionManager
from sandbox_analyst.sandbox.local import LocalProvider
from tests.api.librechat.conftest import BASE
from tests.fixtures.apps import running_app

pytestmark = pytest.mark.asyncio(loop_scope="session")


def client_of(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_uploaded_and_written_files_survive_a_restart(
    settings: Settings, sandbox_sessions: SessionManager
) -> None:
    async with running_app(settings, sandbox_sessions) as app, client_of(app) as client:
        user = await app.state.services.users.create_user("carol")
        secret = (await app.state.services.users.create_key(user.id)).secret
        headers = {"X-API-Key": secret}
        uploaded = (
            await client.post(
                f"{BASE}/upload", headers=headers, files={"file": ("in.csv", b"a\n1\n2\n")}
            )
        ).json()
        made = (
            await client.post(
                f"{BASE}/exec",
                headers=headers,
                json={"lang": "bash", "code": "echo kept > /mnt/data/out.txt"},
            )
        ).json()
    async with running_app(settings, sandbox_sessions) as app, client_of(app) as client:
        refs = [
            {
                "id": uploaded["files"][0]["fileId"],
                "name": "in.csv",
                "storage_session_id": uploaded["session_id"],
            },
            {**made["files"][0], "storage_session_id": made["session_id"]},
        ]
        response = await client.post(
            f"{BASE}/exec",
            headers=headers,
            json={"lang": "bash", "code": "cat /mnt/data/out.txt; wc -l < in.csv", "files": refs},
        )
        assert response.status_code == 200, response.text
        assert response.json()["stdout"] == "kept\n3\n"


async def test_a_server_without_a_free_sandbox_answers_rate_limited(
    settings: Settings, local_provider: LocalProvider
) -> None:
    sessions = SessionManager(local_provider, max_sessions=1, idle_timeout=60)
    await sessions.start()
    try:
        await sessions.acquire(SessionKey("someone", "busy"), hold=True)
        async with running_app(settings, sessions) as app, client_of(app) as client:
            user = await app.state.services.users.create_user("dave")
            secret = (await app.state.services.users.create_key(user.id)).secret
            response = await client.post(
                f"{BASE}/exec", headers={"X-API-Key": secret}, json={"lang": "py", "code": "1"}
            )
        assert response.status_code == 429
        body = response.json()
        assert body["error"] == "rate_limited"
        assert body["retry_after_seconds"] > 0
        assert response.headers["retry-after"] == str(body["retry_after_seconds"])
    finally:
        await sessions.shutdown(end_provider=False)
