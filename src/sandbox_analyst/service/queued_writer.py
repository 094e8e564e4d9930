"""`QueuedWriter`: records made on the event loop by code that must never wait for the database
(the egress proxy, the session manager), stored in order by one writer task, in batches.

A database that fails loses the batch it was given, never the caller's work, and says so in
the log; with `max_queued`, a flood beyond what the database keeps up with is counted and
dropped, so the server's memory stays bounded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")


class QueuedWriter(Generic[Item]):
    def __init__(
        self,
        store: Callable[[list[Item]], Awaitable[None]],
        *,
        what: str,
        batch: int | None = None,
        max_queued: int | None = None,
    ) -> None:
        """`store`: writes one batch (in one transaction); `what`: the items, as the log
        names them ("egress audit records"); `batch`: at most this many a call (None: all
        that wait); `max_queued`: beyond this many waiting, new ones are dropped."""
        self._store = store
        self._what = what
        self._batch = batch
        self._max_queued = max_queued
        self._queue: list[Item] = []
        self._writer: asyncio.Task[None] | None = None
        self._dropped = 0

    def put(self, item: Item) -> None:
        """Queue `item`; returns at once. Called on the event loop."""
        if self._max_queued is not None and len(self._queue) >= self._max_queued:
            self._dropped += 1
            return
        self._queue.append(item)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def flush(self) -> None:
        """Until every item queued so far is stored (or given up on)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _write(self) -> None:
        while self._queue:
            size = self._batch or len(self._queue)
            items, self._queue = self._queue[:size], self._queue[size:]
            try:
                await self._store(items)
            except Exception:
                log.exception("could not store %d %s", len(items), self._what)
            if self._dropped:
                log.warning(
                    "%d %s were dropped: more than %d waited for the database",
                    self._dropped,
                    self._what,
                    self._max_queued,
                )
                self._dropped = 0
