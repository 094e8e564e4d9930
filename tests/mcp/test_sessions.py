"""Which sandbox a call runs in: each HTTP session (2025 handshake) has its own, ended when
the client disconnects; clients without a connection (2026-07-28 stateless HTTP) share their
user's default one, and reach a sandbox of their own by the session_id new_session gives."""

from __future__ import annotations

import re

import pytest

from sandbox_analyst.mcp import McpSandboxes
from sandbox_analyst.sandbox import SessionKey, SessionManager
from tests.mcp.conftest import OWNER, http_client, run, serving_mcp, text_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


def session_id_in(text: str) -> str:
    match = re.search(r"session_id: (\S+)", text)
    assert match is not None, text
    return match.group(1)


async def test_each_http_session_has_its_own_sandbox_ended_when_it_disconnects(
    mcp_url: str, sandbox_sessions: SessionManager
) -> None:
    before = sandbox_sessions.count(OWNER)
    async with http_client(mcp_url) as first, http_client(mcp_url) as second:
        await run(first, "mine = 'first'")
        await run(second, "mine = 'second'")
        assert text_of(await run(first, "mine")) == "'first'"
        assert text_of(await run(second, "mine")) == "'second'"
        assert sandbox_sessions.count(OWNER) == before + 2
    assert sandbox_sessions.count(OWNER) == before


async def test_new_session_starts_over_and_ends_the_previous_sandbox(
    mcp_url: str, sandbox_sessions: SessionManager
) -> None:
    async with http_client(mcp_url) as client:
        await run(client, "old = 1")
        live = sandbox_sessions.count(OWNER)
        started = await client.call_tool("new_session", {})
        fresh = await run(client, "old")
        assert sandbox_sessions.count(OWNER) == live
    assert not started.is_error
    assert session_id_in(text_of(started)).startswith("mcp-")
    assert fresh.is_error
    assert "NameError" in text_of(fresh)


async def test_stateless_clients_keep_state_through_a_session_id(mcp_url: str) -> None:
    async with http_client(mcp_url, mode="auto") as client:
        assert client.protocol_version == "2026-07-28"  # no HTTP session at all
        session_id = session_id_in(text_of(await client.call_tool("new_session", {})))
        await run(client, "total = 40", session_id=session_id)
    async with http_client(mcp_url, mode="auto") as later:
        by_id = await run(later, "total + 2", session_id=session_id)
        by_default = await run(later, "total + 2")  # the user's default is that one now
    assert text_of(by_id) == "42"
    assert text_of(by_default) == "42"


async def test_a_session_id_of_another_user_is_unknown(mcp_sandboxes: McpSandboxes) -> None:
    async with (
        serving_mcp(mcp_sandboxes, owner="alice") as alice_url,
        serving_mcp(mcp_sandboxes, owner="mallory") as mallory_url,
        http_client(alice_url) as alice,
        http_client(mallory_url) as mallory,
    ):
        session_id = session_id_in(text_of(await alice.call_tool("new_session", {})))
        await run(alice, "secret = 'alice'")
        stolen = await run(mallory, "secret", session_id=session_id)
    assert stolen.is_error
    assert f"there is no sandbox session {session_id!r}" in text_of(stolen)


async def test_a_sandbox_that_ended_is_replaced_with_a_note(
    mcp_url: str, sandbox_sessions: SessionManager
) -> None:
    async with http_client(mcp_url, mode="auto") as client:
        session_id = session_id_in(text_of(await client.call_tool("new_session", {})))
        await run(client, "gone = 1")
        # Ended by the session manager, as for idleness or to make room.
        await sandbox_sessions.end(SessionKey(OWNER, f"mcp:{session_id}"))
        explicit = await run(client, "1", session_id=session_id)
        current = await run(client, "'new'")
    assert explicit.is_error
    assert "has ended" in text_of(explicit)
    assert not current.is_error
    assert "had ended" in text_of(current)
    assert text_of(current).endswith("'new'")
