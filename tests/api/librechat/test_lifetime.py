"""What outlives what: a session's files outlive the server process (they are in the database
and the blob store), and a server with no sandbox to spare says when to retry, as LibreChat's
tool expects (429 `rate_limited` with `retry_after_seconds`)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SessionKey, SessionManager
from sandbox_analyst.sandbox.local import LocalProvider
from sandbox_analyst.service.librechat import LibreChatCaller
from sandbox_analyst.store import BlobNotFound, LibreChatFile, LibreChatSession, utcnow
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


async def test_files_older_than_the_retention_are_removed_with_their_blobs(
    settings: Settings, sandbox_sessions: SessionManager
) -> None:
    async with running_app(settings, sandbox_sessions) as app, client_of(app) as client:
        services = app.state.services
        user = await services.users.create_user("erin")
        headers = {"X-API-Key": (await services.users.create_key(user.id)).secret}
        old = (
            await client.post(f"{BASE}/upload", headers=headers, files={"file": ("old.txt", b"o")})
        ).json()
        new = (
            await client.post(f"{BASE}/upload", headers=headers, files={"file": ("new.txt", b"n")})
        ).json()
        old_path = f"{old['session_id']}/{old['files'][0]['fileId']}"
        stored = await services.librechat.files.get(
            LibreChatCaller(await services.users.authenticate(headers["X-API-Key"])),
            old["session_id"],
            old["files"][0]["fileId"],
        )
        async with services.db.session() as db:
            row = await db.get(LibreChatFile, stored.id)
            row.created_at = utcnow() - timedelta(hours=200)
            session = await db.get(LibreChatSession, old["session_id"])
            session.created_at = utcnow() - timedelta(hours=200)

        assert await services.librechat.sweep() == 1

        gone = await client.get(f"{BASE}/download/{old_path}", headers=headers)
        assert gone.status_code == 404
        empty = await client.get(f"{BASE}/files/{old['session_id']}", headers=headers)
        assert empty.status_code == 404  # the session went with its last file
        with pytest.raises(BlobNotFound):
            await anext(services.blobs.open(stored.blob_key))
        new_path = f"{new['session_id']}/{new['files'][0]['fileId']}"
        assert (await client.get(f"{BASE}/download/{new_path}", headers=headers)).content == b"n"
