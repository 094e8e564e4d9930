"""The sessions of E2B sandboxes, from the server's `SessionManager`: the same backend and the
same limits (per user and in all) as every other front end's sessions."""

from __future__ import annotations

from collections.abc import Mapping

from sandbox_analyst.sandbox import Sandbox, SessionKey, SessionManager, SessionSpec

_PURPOSE_PREFIX = "e2b:"


class ManagedSessions:
    """`SessionSource` over the `SessionManager`. An E2B sandbox's session is held for its
    whole life: it lives until its owner's timeout or kill, so the manager never ends it as
    idle or to make room for someone else (it still counts against its owner's cap)."""

    def __init__(self, sessions: SessionManager) -> None:
        self._sessions = sessions

    async def open(
        self, key: tuple[str, str], env_vars: Mapping[str, str], template: str | None = None
    ) -> Sandbox:
        owner_id, sandbox_id = key
        spec = SessionSpec(
            template=template, env_vars=dict(env_vars), labels={"e2b_sandbox": sandbox_id}
        )
        sandbox, _created = await self._sessions.acquire(
            _key(owner_id, sandbox_id), spec, hold=True
        )
        return sandbox

    async def end(self, key: tuple[str, str]) -> None:
        await self._sessions.end(_key(*key))


def _key(owner_id: str, sandbox_id: str) -> SessionKey:
    return SessionKey(owner=owner_id, purpose=_PURPOSE_PREFIX + sandbox_id)
