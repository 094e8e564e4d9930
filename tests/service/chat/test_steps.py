"""`StepWriter`, the agent's event sink: a step is published once stored, in order; the agent
goes on while a step is written and waits only for the previous one when it makes the next."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sandbox_analyst.service import TokenEvent
from sandbox_analyst.service.chat.steps import StepNotStored, StepWriter
from sandbox_analyst.service.chat.turn import TurnChannel


class GatedRecorder:
    """Stores a step only when the test lets it (`release`), or fails it as a full disk."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.stored: list[str] = []
        self.failing: set[str] = set()

    def release(self, text: str) -> None:
        self.gates.setdefault(text, asyncio.Event()).set()

    async def record(self, event: Any) -> None:
        await self.gates.setdefault(event.text, asyncio.Event()).wait()
        if event.text in self.failing:
            raise OSError(28, "No space left on device")
        self.stored.append(event.text)


async def published(channel: TurnChannel) -> list[str]:
    channel.close()
    texts = []
    while (event := await channel.receive(None)) is not None:
        texts.append(event.text)
    return texts


async def test_the_agent_goes_on_while_a_step_is_written_and_order_is_kept() -> None:
    recorder, channel = GatedRecorder(), TurnChannel()
    steps = StepWriter(recorder, channel, asyncio.current_task())  # type: ignore[arg-type]

    await steps(TokenEvent("one"))  # returns before "one" is stored
    assert recorder.stored == []
    second = asyncio.create_task(steps(TokenEvent("two")))
    await asyncio.sleep(0)
    assert not second.done()  # waits for "one": at most one step in flight

    recorder.release("one")
    await second
    recorder.release("two")
    await steps.flush()

    assert recorder.stored == ["one", "two"]
    assert await published(channel) == ["one", "two"]


async def test_a_step_that_cannot_be_stored_is_not_shown_and_stops_the_turn() -> None:
    recorder, channel = GatedRecorder(), TurnChannel()
    recorder.failing.add("lost")

    writers: list[StepWriter] = []

    async def turn() -> None:
        steps = StepWriter(recorder, channel, asyncio.current_task())  # type: ignore[arg-type]
        writers.append(steps)
        await steps(TokenEvent("lost"))
        recorder.release("lost")
        await asyncio.Event().wait()  # the agent's own work, cut short by the failure

    task = asyncio.create_task(turn())
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await published(channel) == []
    (steps,) = writers
    assert isinstance(steps.failure, OSError)
    with pytest.raises(StepNotStored):
        await steps.flush()
