"""The provider behind a `SandboxManager`, and who shares it.

Local sandboxes come from a zygote that takes seconds to start (it imports the data
libraries once), so the managers that are open at the same time in one event loop with the
same settings share one provider: the first starts it, the last one to close shuts it down.
Their sessions go through one `SessionManager`, the place where `sandbox.max_sessions`
holds; every manager holds its session until it closes, so no manager's sandbox is ever
ended to make room for another's, and none is reaped for idleness.

Every other backend is a client of a remote service: each manager has its own provider, and
the quotas are the service's.
"""

from __future__ import annotations

import abc
import asyncio
import math
import weakref
from pathlib import Path

from sandbox_analyst.sandbox.base import Sandbox
from sandbox_analyst.sandbox.factory import create_provider
from sandbox_analyst.sandbox.provider import SandboxProvider, SessionSpec
from sandbox_analyst.sandbox.sessions import SessionKey, SessionManager
from sandbox_analyst.sdk.location import Location

SDK_OWNER = "sdk"


class Runtime(abc.ABC):
    """Opens and ends one manager's sessions on `provider`."""

    provider: SandboxProvider

    @abc.abstractmethod
    async def open(self, spec: SessionSpec, purpose: str) -> Sandbox: ...

    @abc.abstractmethod
    async def end(self, purpose: str, sandbox: Sandbox) -> None: ...

    @abc.abstractmethod
    async def release(self) -> None:
        """This manager is done with the runtime."""


class SharedLocalRuntime(Runtime):
    def __init__(self, location: Location, registry: dict[str, SharedLocalRuntime], key: str):
        settings = location.settings
        self.provider = create_provider(
            location.sandbox,
            settings.data_dir / "sandboxes",
            hidden_paths=(str(settings.data_dir),),
        )
        # No idle reaping: an SDK user's sandbox lives until they close it.
        self.sessions = SessionManager(
            self.provider, max_sessions=location.sandbox.max_sessions, idle_timeout=math.inf
        )
        self.references = 0
        self._registry = registry
        self._key = key

    async def open(self, spec: SessionSpec, purpose: str) -> Sandbox:
        sandbox, _ = await self.sessions.acquire(SessionKey(SDK_OWNER, purpose), spec, hold=True)
        return sandbox

    async def end(self, purpose: str, sandbox: Sandbox) -> None:
        if not await self.sessions.end(SessionKey(SDK_OWNER, purpose)):
            await sandbox.close()  # not (or no longer) on the books: end it all the same

    async def release(self) -> None:
        self.references -= 1
        if self.references > 0:
            return
        if self._registry.get(self._key) is self:
            del self._registry[self._key]  # a manager opened from now on starts afresh
        await self.sessions.shutdown()


class OwnRuntime(Runtime):
    """A provider of one manager's own (a remote backend's client)."""

    def __init__(self, location: Location) -> None:
        settings = location.settings
        self.provider = create_provider(
            location.sandbox,
            settings.data_dir / "sandboxes",
            hidden_paths=(str(settings.data_dir),),
        )

    async def open(self, spec: SessionSpec, purpose: str) -> Sandbox:
        return await self.provider.create(spec)

    async def end(self, purpose: str, sandbox: Sandbox) -> None:
        if not await self.provider.end(sandbox.sandbox_id):
            await sandbox.close()

    async def release(self) -> None:
        await self.provider.shutdown()


_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, SharedLocalRuntime]] = (
    weakref.WeakKeyDictionary()
)


async def open_runtime(location: Location) -> Runtime:
    """A started runtime for `location`; the caller must `release()` it. Raises what
    starting the provider raised (e.g. `SandboxStartError`, `IsolationError`)."""
    if location.sandbox.backend != "local":
        own = OwnRuntime(location)
        try:
            await own.provider.start()
        except BaseException:
            await own.provider.shutdown()
            raise
        return own
    registry = _shared.setdefault(asyncio.get_running_loop(), {})
    key = _sharing_key(location)
    runtime = registry.get(key)
    if runtime is None:
        runtime = registry[key] = SharedLocalRuntime(location, registry, key)
    runtime.references += 1
    try:
        await runtime.sessions.start()
    except BaseException:
        await runtime.release()
        raise
    return runtime


def _sharing_key(location: Location) -> str:
    """Managers share a provider only when it would be built the same for each."""
    data_dir: Path = location.settings.data_dir
    return f"{data_dir}\n{location.sandbox.model_dump_json()}"
