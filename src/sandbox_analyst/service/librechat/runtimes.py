"""Where LibreChat's code runs: a fresh sandbox per call (the `default` profile: nothing of a
call survives it but the files it returns), or one kept per runtime key (the `stateful`
profile: variables live on between calls for `keep_s` seconds after the last one).

Both come from the `SessionManager`, so they count in the same limits as every other front
end's sessions (per user and in all). A kept sandbox is held while a call runs in it and idle
otherwise; the manager may still end it sooner (its own `idle_timeout`, or to make room),
and the next call then starts afresh and is told so (`new`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sandbox_analyst.sandbox import Sandbox, SessionKey, SessionManager
from sandbox_analyst.service.librechat.identity import new_librechat_id

logger = logging.getLogger(__name__)

_PURPOSE = "librechat:"


@dataclass(frozen=True)
class PlacedFile:
    """A stored file as it was last seen in a kept sandbox's working directory."""

    file_id: str
    size: int
    modified: float


@dataclass
class Runtime:
    """One sandbox code runs in, for the length of a call (fresh) or longer (kept)."""

    sandbox: Sandbox
    runtime_id: str
    reused: bool
    session_id: str | None = None
    """The file session a kept runtime's calls write into, once it has one."""
    placed: dict[str, PlacedFile] = field(default_factory=dict)
    """Workdir paths holding a stored file unchanged (kept runtimes: not written again)."""


@dataclass
class _Kept:
    key: SessionKey
    runtime_id: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session_id: str | None = None
    placed: dict[str, PlacedFile] = field(default_factory=dict)
    used: bool = False
    expiry: asyncio.TimerHandle | None = None


class Runtimes:
    def __init__(self, sessions: SessionManager, *, keep_s: float) -> None:
        self._sessions = sessions
        self.keep_s = keep_s
        self._kept: dict[tuple[str, str], _Kept] = {}
        self._ending: set[asyncio.Task[bool]] = set()

    @contextlib.asynccontextmanager
    async def fresh(self, owner: str) -> AsyncIterator[Runtime]:
        """A sandbox of its own for one call, ended when the call is."""
        runtime_id = new_librechat_id()
        key = SessionKey(owner=owner, purpose=f"{_PURPOSE}call:{runtime_id}")
        sandbox, _created = await self._sessions.acquire(key, hold=True)
        try:
            yield Runtime(sandbox, runtime_id, reused=False)
        finally:
            # The manager forgets the session at once (it no longer counts); closing it, which
            # on the local backend waits for the worker to be reaped, need not delay the answer.
            self._spawn_end(key)

    def _spawn_end(self, key: SessionKey) -> None:
        task = asyncio.get_running_loop().create_task(self._sessions.end(key))
        self._ending.add(task)
        task.add_done_callback(self._ended)

    @contextlib.asynccontextmanager
    async def kept(self, owner: str, name: str) -> AsyncIterator[Runtime]:
        """The sandbox kept for `name` (a runtime hint or a session id) of `owner`, made if it
        has none (or its old one has ended). Calls on one runtime run one after the other."""
        kept = self._kept.get((owner, name))
        if kept is None:
            purpose = f"{_PURPOSE}kept:{new_librechat_id()}"
            kept = _Kept(SessionKey(owner=owner, purpose=purpose), new_librechat_id())
            self._kept[(owner, name)] = kept
        async with kept.lock:
            if kept.expiry is not None:
                kept.expiry.cancel()
                kept.expiry = None
            if kept.used and self._sessions.get(kept.key) is None:
                # Ended by the manager (idle, or to make room): a new interpreter, a new id.
                kept.placed.clear()
                kept.runtime_id = new_librechat_id()
            kept.used = True
            try:
                sandbox, created = await self._sessions.acquire(kept.key, hold=True)
            except BaseException:
                self._schedule_expiry(owner, name, kept)  # forgotten in time, like any other
                raise
            runtime = Runtime(
                sandbox,
                kept.runtime_id,
                reused=not created,
                session_id=kept.session_id,
                placed=kept.placed,
            )
            try:
                yield runtime
            finally:
                kept.session_id = runtime.session_id
                self._sessions.release(kept.key)
                self._schedule_expiry(owner, name, kept)

    def _schedule_expiry(self, owner: str, name: str, kept: _Kept) -> None:
        loop = asyncio.get_running_loop()
        kept.expiry = loop.call_later(self.keep_s, self._expire, owner, name, kept)

    def _expire(self, owner: str, name: str, kept: _Kept) -> None:
        if kept.lock.locked() or self._kept.get((owner, name)) is not kept:
            return  # a call came in meanwhile; it schedules the next expiry
        del self._kept[(owner, name)]
        self._spawn_end(kept.key)

    def _ended(self, task: asyncio.Task[bool]) -> None:
        self._ending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("ending a LibreChat sandbox failed", exc_info=task.exception())

    async def shutdown(self) -> None:
        """End every kept sandbox (the server is stopping)."""
        kept, self._kept = list(self._kept.values()), {}
        for entry in kept:
            if entry.expiry is not None:
                entry.expiry.cancel()
            await self._sessions.end(entry.key)
        if self._ending:
            await asyncio.gather(*self._ending, return_exceptions=True)
