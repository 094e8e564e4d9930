"""`StepWriter`: the agent's event sink in a chat turn. Each step is stored (`TurnRecorder`)
and then published to the turn's channel, in the order the agent made them, so a client never
sees a step that a crash could lose.

The agent does not wait for a step's write: it goes on (starting the code of a tool call while
the call is stored, asking the model again while a result is stored) and waits, when it makes
its next step, for the previous one to be stored and shown. At most one step is in flight, so
order is kept, and writing costs the turn nothing while the agent has work of its own to do.
A step that cannot be stored stops the turn at once.
"""

from __future__ import annotations

import asyncio

from sandbox_analyst.agent import AgentEvent
from sandbox_analyst.service.chat.recorder import TurnRecorder
from sandbox_analyst.service.chat.turn import TurnChannel


class StepNotStored(asyncio.CancelledError):
    """A step could not be stored: the agent is unwound as if cancelled (so that code running
    is interrupted, not abandoned midway), and the turn ends as an internal error."""


class StepWriter:
    def __init__(self, recorder: TurnRecorder, channel: TurnChannel, turn: asyncio.Task) -> None:
        """`turn`: the task running the agent, cancelled when a step cannot be stored."""
        self._recorder = recorder
        self._channel = channel
        self._turn = turn
        self._in_flight: asyncio.Task[None] | None = None
        self._closed = False
        self.failure: Exception | None = None  # why a step could not be stored

    async def __call__(self, event: AgentEvent) -> None:
        await self.flush()
        self._in_flight = asyncio.get_running_loop().create_task(self._write(event))

    async def flush(self) -> None:
        """Until every step so far is stored and published; `StepNotStored` if one failed."""
        if self._in_flight is not None:
            # Shielded: a turn cancelled meanwhile must not cut a write in half.
            await asyncio.shield(self._in_flight)
            self._in_flight = None
        if self.failure is not None:
            raise StepNotStored from self.failure

    async def close(self) -> None:
        """No more steps: until the one in flight is written, whatever the outcome (the
        turn's last write must come after it)."""
        self._closed = True
        if self._in_flight is not None:
            await asyncio.wait({self._in_flight})
            self._in_flight = None

    async def _write(self, event: AgentEvent) -> None:
        try:
            await self._recorder.record(event)
        except Exception as exc:
            self.failure = exc
            if not self._closed:
                self._turn.cancel()  # reaches running code, which is interrupted
            return
        self._channel.publish(event)
