"""`SessionManager`: which live sandbox belongs to which key, over any `SandboxProvider`, and
the one place where session quotas hold for every front end (chat, E2B API, SDK).

A `SessionKey` names an owner (a user id) and a purpose (e.g. a conversation id). A session is
*in use* while code runs in it (`Sandbox.busy`) or while a caller holds it (`acquire(...,
hold=True)` until `release()`: a chat turn holds its sandbox from start to end, including
while the model thinks); otherwise it is *idle* since it was last used.

Limits, checked when a key needs a new session:
- an owner holds at most `max_sessions_per_user` live sessions, or their own limit where
  `owner_limit` gives one (a user's quota): when they need another, their least recently used
  idle session is ended first;
- the server holds at most `max_sessions`: when full, the least recently used session idle for
  at least `reclaim_idle_after` seconds (any owner's) is ended to make room;
- when nothing can be ended, `TooManyUserSessionsError` or `TooManySessionsError` (HTTP 429).
Sessions idle longer than `idle_timeout` are ended by a reaper task. An ended session's files
are gone; the service rebuilds what it needs on the next turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox.base import Sandbox
from sandbox_analyst.sandbox.errors import (
    SandboxClosedError,
    SandboxNotFoundError,
    TooManySessionsError,
    TooManyUserSessionsError,
)
from sandbox_analyst.sandbox.provider import SandboxProvider, SessionSpec
from sandbox_analyst.telemetry import SessionEnded, SessionLost, SessionStarted, emit

log = logging.getLogger(__name__)

OwnerLimit = Callable[[str], Awaitable[int | None]]
"""An owner's own limit of live sessions (None: `max_sessions_per_user`)."""

OWNER_LABEL = "owner"
PURPOSE_LABEL = "purpose"


@dataclass(frozen=True)
class SessionKey:
    owner: str  # whose quota the session counts against: a user id
    purpose: str  # what it is for, unique per owner: e.g. a conversation id


@dataclass
class _Entry:
    sandbox: Sandbox
    touched: float  # time.monotonic() of the last acquire / release
    holds: int = 0
    held_since: float = 0.0

    def idle_since(self) -> float | None:
        """When the session was last used; None while it is in use."""
        if self.holds or self.sandbox.busy:
            return None
        return max(self.touched, self.sandbox.last_used)


class SessionObserver(Protocol):
    """Told of every session a manager opens and ends (the service keeps a log of sandbox
    time from it). Called on the event loop: it must return at once."""

    def opened(self, key: SessionKey, sandbox: Sandbox, *, created: bool) -> None:
        """`created`: a new session; else one that lived on, reached by its stored id."""

    def ended(self, key: SessionKey, sandbox: Sandbox, reason: str) -> None:
        """`reason`: as `SessionEnded`'s, or "lost"."""


class SessionManager:
    def __init__(
        self,
        provider: SandboxProvider,
        *,
        max_sessions: int,
        idle_timeout: float,
        max_sessions_per_user: int | None = None,
        reclaim_idle_after: float = 60.0,
        max_hold: float | None = None,
        reap_interval: float | None = None,
        owner_limit: OwnerLimit | None = None,
    ) -> None:
        """`max_hold` (default: `idle_timeout`) bounds a hold: a holder that failed without
        `release()` must not keep a session in use for ever. `owner_limit`: an owner's own
        limit of live sessions, asked when a session is acquired (never above
        `max_sessions`); settable later, as the service wires its quotas in."""
        self.owner_limit = owner_limit
        self.observer: SessionObserver | None = None
        self.provider = provider
        self.max_sessions = max_sessions
        self.max_sessions_per_user = min(max_sessions_per_user or max_sessions, max_sessions)
        self.idle_timeout = idle_timeout
        self.reclaim_idle_after = reclaim_idle_after
        self.max_hold = idle_timeout if max_hold is None else max_hold
        self.reap_interval = reap_interval or max(1.0, min(60.0, idle_timeout / 4))
        self._sessions: dict[SessionKey, _Entry] = {}
        self._creating: dict[SessionKey, asyncio.Task[tuple[Sandbox, bool]]] = {}
        self._keys_by_id: dict[str, SessionKey] = {}
        self._pending_holds: dict[SessionKey, int] = {}  # asked for while being made
        self._reaper: asyncio.Task[None] | None = None
        self._stopping: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    def from_settings(cls, provider: SandboxProvider, settings: SandboxSettings) -> SessionManager:
        return cls(
            provider,
            max_sessions=settings.max_sessions,
            max_sessions_per_user=settings.max_sessions_per_user,
            idle_timeout=settings.idle_timeout,
            reclaim_idle_after=settings.reclaim_idle_after,
        )

    def __len__(self) -> int:
        return len(self._sessions)

    def count(self, owner: str) -> int:
        """Live sessions of `owner`, and those being made for them."""
        keys = [*self._sessions, *self._creating]
        return sum(1 for key in keys if key.owner == owner)

    async def start(self) -> None:
        """Start the provider (idempotent) and the idle reaper."""
        await self.provider.start()
        if self._reaper is None and not self._closed:
            self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())

    def get(self, key: SessionKey) -> Sandbox | None:
        """The key's live session, if it has one."""
        entry = self._sessions.get(key)
        if entry is not None and entry.sandbox.closed:
            self._forget_lost(key)
            return None
        return entry.sandbox if entry is not None else None

    async def acquire(
        self,
        key: SessionKey,
        spec: SessionSpec | None = None,
        *,
        known_id: str | None = None,
        hold: bool = False,
    ) -> tuple[Sandbox, bool]:
        """The key's session and whether this call created it.

        The live one if the key has one; else the session `known_id` (a sandbox id the caller
        stored for this key, e.g. made by another server process on a remote backend) if it
        still lives; else a new one from `spec`. `hold=True` keeps the session in use (never
        ended to make room or for idleness) until `release(key)`.

        Raises `TooManyUserSessionsError` / `TooManySessionsError` when no session can be had.
        """
        if self._closed:
            raise SandboxClosedError("the sandbox session manager is shut down")
        await self.start()
        live = self._live(key, hold)
        if live is not None:  # the common case: no owner limit to ask for
            return live, False
        # Asked before the books are read again: from here to `_make_room` nothing awaits.
        owner_limit = await self.owner_limit(key.owner) if self.owner_limit else None
        live = self._live(key, hold)
        if live is not None:  # made by another caller while the limit was asked for
            return live, False
        entry = self._sessions.get(key)
        if entry is not None:
            self._forget_lost(key)
        task = self._creating.get(key)
        created = task is None
        if task is None:
            victims = self._make_room(key.owner, owner_limit)
            task = asyncio.get_running_loop().create_task(
                self._open(key, spec or SessionSpec(), known_id, victims)
            )
            # Retrieved here too, in case every caller went away before it failed.
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._creating[key] = task
        if hold:  # taken as the session is registered: no moment idle for others to end it
            self._pending_holds[key] = self._pending_holds.get(key, 0) + 1
        try:
            # Shielded: a caller that goes away must not abandon a session half made (the
            # task registers it either way).
            sandbox, new = await asyncio.shield(task)
        except BaseException:
            if hold:
                self._drop_hold(key)
            raise
        return sandbox, new and created

    def _live(self, key: SessionKey, hold: bool) -> Sandbox | None:
        """The key's live session, touched (and held if `hold`), if it has one."""
        entry = self._sessions.get(key)
        if entry is None or entry.sandbox.closed:
            return None
        self._touch(entry, hold)
        return entry.sandbox

    def release(self, key: SessionKey) -> None:
        """End one hold taken with `acquire(..., hold=True)`; the session is idle from now."""
        entry = self._sessions.get(key)
        if entry is not None:
            entry.holds = max(0, entry.holds - 1)
            entry.touched = time.monotonic()

    def _drop_hold(self, key: SessionKey) -> None:
        """A caller that asked for a hold went away before it got the session."""
        pending = self._pending_holds.get(key, 0)
        if pending > 1:
            self._pending_holds[key] = pending - 1
        elif pending == 1:
            del self._pending_holds[key]
        else:
            self.release(key)

    async def end(self, key: SessionKey) -> bool:
        """End the key's session for good; False if it had none."""
        return await self._end(key, "ended")

    async def _end(self, key: SessionKey, reason: str) -> bool:
        entry = self._forget(key)
        if entry is None:
            return False
        self._ended(key, entry, reason)
        await entry.sandbox.close()
        return True

    async def reap_idle(self) -> int:
        """End sessions idle longer than `idle_timeout`; returns how many."""
        now = time.monotonic()
        for key, entry in self._sessions.items():
            if entry.holds and now - entry.held_since > self.max_hold:
                # Longer than any holder may need: it failed without releasing it.
                log.warning("sandbox session %s was held for too long; releasing it", key)
                entry.holds = 0
        idle = [
            key
            for key, entry in self._sessions.items()
            if (since := entry.idle_since()) is not None and now - since > self.idle_timeout
        ]
        for key in idle:
            log.info("ending idle sandbox session %s", key)
            await self._end(key, "idle")
        return len(idle)

    async def shutdown(self, *, end_provider: bool = True) -> None:
        """End every session and, unless told otherwise, the provider (local: the zygote)."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        await asyncio.gather(*self._creating.values(), return_exceptions=True)
        for key in list(self._sessions):
            await self._end(key, "shutdown")
        if end_provider:
            await self.provider.shutdown()

    def install_signal_handlers(self, on_stopped: asyncio.Event) -> None:
        """Shut down cleanly on SIGTERM/SIGINT, then set `on_stopped`."""
        loop = asyncio.get_running_loop()

        async def shut_down() -> None:
            await self.shutdown()
            on_stopped.set()

        def stop() -> None:
            if self._stopping is None:
                self._stopping = loop.create_task(shut_down())

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop)

    def _make_room(self, owner: str, limit: int | None = None) -> list[_Entry]:
        """Take the sessions that must end before `owner` (who may hold `limit`, their own,
        or else `max_sessions_per_user`) gets a new one off the books (at once, so that concurrent
        callers count right), or raise when none may end."""
        own_victim = None
        cap = self.max_sessions_per_user if limit is None else min(limit, self.max_sessions)
        if self.count(owner) >= cap:
            own_victim = self._least_recently_used(owner=owner, idle_for=0.0)
            if own_victim is None:
                raise TooManyUserSessionsError(cap, own=limit is not None)
        total = len(self._sessions) + len(self._creating) - (own_victim is not None)
        other_victim = None
        if total >= self.max_sessions:
            other_victim = self._least_recently_used(
                idle_for=self.reclaim_idle_after, besides=own_victim
            )
            if other_victim is None:
                raise TooManySessionsError(self.max_sessions)
        victims = []
        for key in (own_victim, other_victim):
            if key is not None:
                log.info("ending the idle sandbox session %s to make room", key)
                entry = self._forget(key)
                if entry is not None:
                    self._ended(key, entry, "reclaimed")
                    victims.append(entry)
        return victims

    def _least_recently_used(
        self, *, idle_for: float, owner: str | None = None, besides: SessionKey | None = None
    ) -> SessionKey | None:
        now = time.monotonic()
        candidates = []
        for key, entry in self._sessions.items():
            since = entry.idle_since()
            if since is None or now - since < idle_for or key == besides:
                continue
            if owner is None or key.owner == owner:
                candidates.append((since, key))
        return min(candidates, key=lambda pair: pair[0])[1] if candidates else None

    async def _open(
        self, key: SessionKey, spec: SessionSpec, known_id: str | None, victims: list[_Entry]
    ) -> tuple[Sandbox, bool]:
        try:
            for victim in victims:
                try:
                    await victim.sandbox.close()
                except Exception:  # ending an old session must not cost the new one
                    log.exception("could not end sandbox session %s", victim.sandbox.sandbox_id)
            sandbox, created = await self._connect_or_create(key, spec, known_id)
            if self._closed:
                await sandbox.close()
                raise SandboxClosedError("the sandbox session manager is shut down")
            now = time.monotonic()
            holds = self._pending_holds.pop(key, 0)
            self._sessions[key] = _Entry(sandbox, touched=now, holds=holds, held_since=now)
            self._keys_by_id[sandbox.sandbox_id] = key
            emit(SessionStarted(sandbox.backend, "created" if created else "connected"))
            if self.observer is not None:
                self.observer.opened(key, sandbox, created=created)
            return sandbox, created
        finally:
            self._creating.pop(key, None)
            self._pending_holds.pop(key, None)

    async def _connect_or_create(
        self, key: SessionKey, spec: SessionSpec, known_id: str | None
    ) -> tuple[Sandbox, bool]:
        # Never hand a session that this manager keeps for another key to this one.
        if known_id is not None and self._keys_by_id.get(known_id, key) == key:
            try:
                return await self.provider.connect(known_id), False
            except SandboxNotFoundError:
                log.info("sandbox session %s of %s has ended; starting a new one", known_id, key)
        labels = {**spec.labels, OWNER_LABEL: key.owner, PURPOSE_LABEL: key.purpose}
        return await self.provider.create(dataclasses.replace(spec, labels=labels)), True

    def _touch(self, entry: _Entry, hold: bool) -> None:
        entry.touched = time.monotonic()
        if hold:
            if not entry.holds:
                entry.held_since = entry.touched
            entry.holds += 1

    def _forget_lost(self, key: SessionKey) -> None:
        """The key's session closed without this manager ending it: its worker or kernel
        died, or its backend dropped it."""
        entry = self._forget(key)
        if entry is not None:
            log.info("sandbox session %s of %s was lost", entry.sandbox.sandbox_id, key)
            self._ended(key, entry, "lost")

    def _ended(self, key: SessionKey, entry: _Entry, reason: str) -> None:
        if reason == "lost":
            emit(SessionLost(entry.sandbox.backend))
        else:
            emit(SessionEnded(entry.sandbox.backend, reason))
        if self.observer is not None:
            self.observer.ended(key, entry.sandbox, reason)

    def _forget(self, key: SessionKey) -> _Entry | None:
        entry = self._sessions.pop(key, None)
        if entry is not None:
            self._keys_by_id.pop(entry.sandbox.sandbox_id, None)
        return entry

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(self.reap_interval)
            try:
                await self.reap_idle()
            except Exception:  # the reaper must outlive any single failure
                log.exception("idle sandbox reaping failed")
