"""Which sandbox an MCP tool call runs in.

Every MCP client has a *current* sandbox, started on its first call and kept between calls
(variables, imports, files). Who "a client" is depends on the transport: the `analyst mcp`
process on stdio; one HTTP session (its `Mcp-Session-Id`) on streamable HTTP with the
2025 handshake, whose sandbox ends when the client disconnects; on 2026-07-28 stateless HTTP,
which has no connection at all, the user's shared default. `new_session` replaces a client's
current sandbox with a fresh one and names it: a call that passes that `session_id` reaches it
from anywhere the same user connects from (what a stateless client needs to keep its state).

Sessions come from the server's `SessionManager`, so every cap holds (per user and in all),
and a session left idle for `sandbox.idle_timeout` ends like any other.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sandbox_analyst.sandbox import Sandbox, SessionKey, SessionManager, SessionSpec

_PURPOSE_PREFIX = "mcp:"


class SessionNotFound(LookupError):
    """A `session_id` that names no sandbox of this user (never made, or another user's)."""


class SessionEnded(LookupError):
    """A `session_id` whose sandbox has ended (idle too long, replaced, or made room)."""


@dataclass(frozen=True)
class Client:
    """Who calls: `owner` is the user the sandboxes count against; `scope` names the client
    among that user's (a connection, or "default")."""

    owner: str
    scope: str


@dataclass(frozen=True)
class InUse:
    """The sandbox a call runs in, with its id and, when the client's previous sandbox had
    ended and this one is new, a note saying so."""

    sandbox: Sandbox
    session_id: str
    note: str | None = None


class McpSandboxes:
    def __init__(self, sessions: SessionManager, *, template: str | None = None) -> None:
        self._sessions = sessions
        self._template = template
        self._current: dict[Client, str] = {}
        self._owners: dict[str, str] = {}  # session id -> owner, while it may live

    @asynccontextmanager
    async def use(self, client: Client, session_id: str | None = None) -> AsyncIterator[InUse]:
        """The sandbox named `session_id` (one of `client.owner`'s), or else the client's
        current one; held (never ended as idle) until the block exits."""
        if session_id is not None:
            in_use = await self._named(client.owner, session_id)
        else:
            in_use = await self._current_of(client)
        key = _key(client.owner, in_use.session_id)
        try:
            yield in_use
        finally:
            self._sessions.release(key)

    async def new(self, client: Client) -> str:
        """A fresh sandbox, from now on the client's current one; the previous one ends."""
        previous = self._current.pop(client, None)
        if previous is not None:
            await self.end(client.owner, previous)
        session_id = await self._start(client)
        self._sessions.release(_key(client.owner, session_id))
        return session_id

    async def end(self, owner: str, session_id: str) -> None:
        if self._owners.get(session_id) == owner:
            del self._owners[session_id]
            await self._sessions.end(_key(owner, session_id))

    async def end_client(self, client: Client) -> None:
        """The client has gone: its current sandbox ends."""
        session_id = self._current.pop(client, None)
        if session_id is not None:
            await self.end(client.owner, session_id)

    async def _current_of(self, client: Client) -> InUse:
        session_id = self._current.get(client)
        if session_id is not None:
            try:
                return await self._named(client.owner, session_id)
            except (SessionEnded, SessionNotFound):
                note = (
                    f"The previous sandbox ({session_id}) had ended (idle too long, or ended "
                    "to make room): this is a new one, without its variables and files."
                )
                return InUse(*await self._fresh(client), note=note)
        return InUse(*await self._fresh(client))

    async def _fresh(self, client: Client) -> tuple[Sandbox, str]:
        session_id = await self._start(client)
        sandbox = self._sessions.get(_key(client.owner, session_id))
        assert sandbox is not None  # just made, and held
        return sandbox, session_id

    async def _start(self, client: Client) -> str:
        """Start a held session for `client` and make it its current one."""
        session_id = "mcp-" + secrets.token_urlsafe(12)
        spec = SessionSpec(template=self._template, labels={"mcp_session": session_id})
        await self._sessions.acquire(_key(client.owner, session_id), spec, hold=True)
        self._owners[session_id] = client.owner
        self._current[client] = session_id
        return session_id

    async def _named(self, owner: str, session_id: str) -> InUse:
        if self._owners.get(session_id) != owner:
            raise SessionNotFound(
                f"there is no sandbox session {session_id!r}; new_session starts one"
            )
        key = _key(owner, session_id)
        if self._sessions.get(key) is None:
            del self._owners[session_id]
            raise SessionEnded(
                f"sandbox session {session_id!r} has ended (idle too long, or ended to make "
                "room); new_session starts a fresh one"
            )
        sandbox, _created = await self._sessions.acquire(key, hold=True)
        return InUse(sandbox, session_id)


def _key(owner: str, session_id: str) -> SessionKey:
    return SessionKey(owner=owner, purpose=_PURPOSE_PREFIX + session_id)
