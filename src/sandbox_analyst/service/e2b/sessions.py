"""The sessions of E2B sandboxes, taken from the server's sandbox session manager: the same
pool and the same limits as every other front end's sessions."""

from __future__ import annotations

from collections.abc import Mapping

from sandbox_analyst.sandbox import Sandbox
from sandbox_analyst.service.sandboxes import ConversationSandboxes

_KEY_PREFIX = "e2b:"


class ManagedSessions:
    """`SessionSource` over the server's `ConversationSandboxes` (pool + session manager).

    The session's env vars are applied by the E2B sandbox to every execution and command
    it runs, so the session itself is a plain one from the pool."""

    def __init__(self, sandboxes: ConversationSandboxes) -> None:
        self._sandboxes = sandboxes

    async def open(self, key: tuple[str, str], env_vars: Mapping[str, str]) -> Sandbox:
        del env_vars
        owner_id, sandbox_id = key
        await self._sandboxes.start()
        sandbox, _created = await self._sandboxes.manager.get_or_create(
            (owner_id, _KEY_PREFIX + sandbox_id)
        )
        return sandbox

    async def end(self, key: tuple[str, str]) -> None:
        owner_id, sandbox_id = key
        await self._sandboxes.manager.close((owner_id, _KEY_PREFIX + sandbox_id))
