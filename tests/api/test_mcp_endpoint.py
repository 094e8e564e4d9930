"""MCP on the main server at /mcp: the tools of `analyst mcp` for this server's users, with
their API keys, driven by the `mcp` SDK's streamable HTTP client against a real server on
127.0.0.1. The sandboxes are the server's sessions, counted against the key's user."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from sandbox_analyst.sandbox import SessionManager
from sandbox_analyst.service import Services
from tests.mcp.conftest import images_of, run, text_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def app_sessions(sandbox_sessions: SessionManager) -> SessionManager:
    return sandbox_sessions


@asynccontextmanager
async def mcp_client(url: str, key: str, mode: str = "legacy") -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=mode) as client,
    ):
        yield client


async def user_key(services: Services, name: str) -> tuple[str, str]:
    user = await services.users.create_user(name)
    return user.id, (await services.users.create_key(user.id)).secret


async def test_a_user_runs_code_in_a_sandbox_of_their_own(
    live_url: str, services: Services, sandbox_sessions: SessionManager
) -> None:
    alice_id, alice = await user_key(services, "alice")
    before = sandbox_sessions.count(alice_id)
    async with mcp_client(live_url, alice) as client:
        csv = base64.b64encode(b"x\n1\n2\n").decode()
        uploaded = await client.call_tool("upload_file", {"name": "x.csv", "content_base64": csv})
        await run(client, "import pandas as pd\ndf = pd.read_csv('x.csv')")
        total = await run(client, "int(df.x.sum())")
        figure = await run(client, "import matplotlib.pyplot as plt\nplt.plot(df.x)\nplt.show()")
        assert sandbox_sessions.count(alice_id) == before + 1
    assert not uploaded.is_error
    assert text_of(total) == "3"
    assert len(images_of(figure)) == 1
    assert sandbox_sessions.count(alice_id) == before  # ended with the client's session


async def test_without_a_valid_key_mcp_is_refused(live_url: str) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    async with httpx.AsyncClient(base_url=live_url) as http:
        missing = await http.post("/mcp", json=initialize)
        wrong = await http.post(
            "/mcp", json=initialize, headers={"Authorization": "Bearer sk-wrong"}
        )
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "unauthorized"
    assert wrong.status_code == 401


async def test_another_users_session_id_is_unknown(live_url: str, services: Services) -> None:
    _, alice = await user_key(services, "alice")
    _, bob = await user_key(services, "bob")
    async with mcp_client(live_url, alice, mode="auto") as as_alice:
        started = text_of(await as_alice.call_tool("new_session", {}))
        session_id = re.search(r"session_id: (\S+)", started).group(1)  # type: ignore[union-attr]
        await run(as_alice, "secret = 1", session_id=session_id)
        async with mcp_client(live_url, bob, mode="auto") as as_bob:
            stolen = await run(as_bob, "secret", session_id=session_id)
            own = await run(as_bob, "'mine'")
    assert stolen.is_error
    assert "no sandbox session" in text_of(stolen)
    assert text_of(own) == "'mine'"


async def test_another_users_key_cannot_use_an_mcp_session(
    live_url: str, services: Services
) -> None:
    """Bob, holding alice's `Mcp-Session-Id` (it travels in headers), still cannot run code in
    her sandbox."""
    _, alice = await user_key(services, "alice")
    _, bob = await user_key(services, "bob")
    accept = {"Accept": "application/json, text/event-stream"}
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"},
        },
    }
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "execute_code", "arguments": {"code": "print('ran')"}},
    }
    async with httpx.AsyncClient(base_url=live_url, timeout=60) as http:
        opened = await http.post(
            "/mcp", json=initialize, headers={**accept, "Authorization": f"Bearer {alice}"}
        )
        session = {
            "Mcp-Session-Id": opened.headers["mcp-session-id"],
            "MCP-Protocol-Version": "2025-11-25",
        }
        await http.post(
            "/mcp",
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers={**accept, **session, "Authorization": f"Bearer {alice}"},
        )
        as_alice = await http.post(
            "/mcp", json=call, headers={**accept, **session, "Authorization": f"Bearer {alice}"}
        )
        as_bob = await http.post(
            "/mcp", json=call, headers={**accept, **session, "Authorization": f"Bearer {bob}"}
        )
    assert "ran" in as_alice.text
    assert "ran" not in as_bob.text
    assert "this MCP session belongs to another user" in as_bob.text
    assert '"isError":true' in as_bob.text
