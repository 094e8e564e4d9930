"""`ChatTurn`: the handle front ends hold on a running turn. Iterate it (once) for its events,
`cancel()` it, `wait()` for it.

The turn runs as a task of its own, started by the turn itself, not in the request: a client
that goes away (or `cancel()`) cancels it, which interrupts the running code, and the turn is
still stored, as `cancelled`. Its events come through one queue, filled by the turn's body
(the runner) through a `TurnChannel` and drained by whoever holds the turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from sandbox_analyst.service.chat.events import ChatEvent
from sandbox_analyst.store import FileRecord, Message
from sandbox_analyst.telemetry import context

logger = logging.getLogger(__name__)


class TurnChannel:
    """The turn's own side: where its body publishes events, and why it was cancelled."""

    def __init__(self) -> None:
        self._events: asyncio.Queue[ChatEvent | None] = asyncio.Queue()
        self.cancel_reason = "cancelled"

    def publish(self, event: ChatEvent) -> None:
        self._events.put_nowait(event)

    def close(self) -> None:
        self._events.put_nowait(None)

    async def receive(self, timeout: float | None) -> ChatEvent | None:
        async with asyncio.timeout(timeout):
            return await self._events.get()


TurnBody = Callable[[TurnChannel], Awaitable[None]]


class ChatTurn:
    def __init__(self, conversation_id: str, user_message: Message, message: Message) -> None:
        self.conversation_id = conversation_id
        self.user_message = user_message
        self.message_id = message.id
        self._channel = TurnChannel()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def start(
        cls, conversation_id: str, user_message: Message, message: Message, body: TurnBody
    ) -> ChatTurn:
        """A turn whose task runs `body` from the next turn of the event loop."""
        turn = cls(conversation_id, user_message, message)
        turn._task = asyncio.get_running_loop().create_task(turn._run(body))
        return turn

    async def _run(self, body: TurnBody) -> None:
        # In the turn's own task (its own context): every line it logs names the turn.
        context.turn_id.set(self.message_id)
        context.conversation_id.set(self.conversation_id)
        try:
            await body(self._channel)
        except Exception:
            # The runner stores every ending itself; reaching here is a bug in it.
            logger.exception("chat turn %s ended with an error", self.message_id)
        finally:
            self._channel.close()

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    async def next_event(self, timeout: float | None = None) -> ChatEvent | None:
        """The next event; None once the turn is over. Raises TimeoutError after `timeout`."""
        return await self._channel.receive(timeout)

    async def __aiter__(self) -> AsyncIterator[ChatEvent]:
        while (event := await self.next_event()) is not None:
            yield event

    def cancel(self, reason: str = "cancelled") -> bool:
        """Stop the turn (and the code it runs); False if it was already over."""
        if self._task is None or self._task.done():
            return False
        self._channel.cancel_reason = reason
        return self._task.cancel()

    async def wait(self) -> None:
        """Until the turn is over and stored, however it ended. A waiter that is cancelled
        does not cancel the turn, and a turn that ended cancelled does not cancel its waiter
        (shutting down waits for every turn this way)."""
        if self._task is not None:
            await asyncio.wait({self._task})


@dataclass(frozen=True)
class TurnOutcome:
    """A finished turn as stored: its assistant message and the artifacts it made."""

    message: Message
    artifacts: list[FileRecord]
