"""`ChatTurn`, the handle on a running turn: its events come out in order and end, `cancel()`
stops it with a reason its body sees, and `wait()` waits without cancelling it."""

from __future__ import annotations

import asyncio

import pytest

from sandbox_analyst.service import ChatTurn, TokenEvent
from sandbox_analyst.service.chat.turn import TurnChannel
from sandbox_analyst.store import Message


def start(body) -> ChatTurn:
    user = Message(id="user-message", conversation_id="c1", seq=1, role="user")
    answer = Message(id="answer", conversation_id="c1", seq=2, role="assistant")
    return ChatTurn.start("c1", user, answer, body)


async def test_the_events_a_turn_publishes_come_out_in_order_then_end() -> None:
    async def body(channel: TurnChannel) -> None:
        for word in ("one ", "two"):
            channel.publish(TokenEvent(word))
            await asyncio.sleep(0)

    turn = start(body)

    assert [event.text async for event in turn] == ["one ", "two"]
    await turn.wait()
    assert turn.done
    assert (turn.conversation_id, turn.message_id) == ("c1", "answer")


async def test_cancel_stops_the_body_with_its_reason() -> None:
    seen: list[str] = []
    running = asyncio.Event()

    async def body(channel: TurnChannel) -> None:
        running.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append(channel.cancel_reason)
            raise

    turn = start(body)
    await running.wait()

    assert turn.cancel("the client disconnected")
    assert [event async for event in turn] == []
    assert seen == ["the client disconnected"]
    assert not turn.cancel()  # already over


async def test_the_events_end_even_when_the_body_fails() -> None:
    async def body(channel: TurnChannel) -> None:
        channel.publish(TokenEvent("partial"))
        raise RuntimeError("a bug")

    turn = start(body)

    assert [event.text async for event in turn] == ["partial"]
    await turn.wait()  # over, whatever its end: the runner has stored what it could
    assert turn.done


async def test_waiting_for_a_turn_that_ended_cancelled_returns() -> None:
    async def body(channel: TurnChannel) -> None:
        await asyncio.Event().wait()

    turn = start(body)
    await asyncio.sleep(0)
    turn.cancel("the server is shutting down")

    await turn.wait()  # no CancelledError in the waiter: shutting down goes on
    assert turn.done


async def test_a_waiter_that_goes_away_does_not_cancel_the_turn() -> None:
    release = asyncio.Event()

    async def body(channel: TurnChannel) -> None:
        await release.wait()
        channel.publish(TokenEvent("done"))

    turn = start(body)
    waiter = asyncio.create_task(turn.wait())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter

    release.set()
    assert [event.text async for event in turn] == ["done"]
