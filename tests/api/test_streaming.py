"""The one way a turn streams over HTTP (REST's events and /v1's chunks alike): the front end's
opening, one frame per event and its closing, a keep-alive comment while the turn is silent,
and the turn cancelled when its client goes away. Served by a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request

from sandbox_analyst.api import streaming
from sandbox_analyst.api.streaming import TurnEventStream
from sandbox_analyst.service import ChatEvent, ChatTurn, TokenEvent
from sandbox_analyst.service.chat.turn import TurnChannel
from sandbox_analyst.store import Message
from tests.conftest import uvicorn_on_loopback


class Words:
    """Frames a test can read: `[`, each token's text, `]`."""

    def opening(self) -> bytes:
        return b"data: [\n\n"

    async def frame(self, event: ChatEvent) -> bytes:
        return f"data: {event.text}\n\n".encode() if isinstance(event, TokenEvent) else b""

    async def closing(self) -> bytes:
        return b"data: ]\n\n"


class Script:
    """A turn that says `words`, then waits until told to go on (or is cancelled)."""

    def __init__(self, *words: str) -> None:
        self.words = words
        self.go_on = asyncio.Event()
        self.cancelled: list[str] = []

    async def __call__(self, channel: TurnChannel) -> None:
        for word in self.words:
            channel.publish(TokenEvent(word))
        try:
            await self.go_on.wait()
        except asyncio.CancelledError:
            self.cancelled.append(channel.cancel_reason)
            raise
        channel.publish(TokenEvent("last"))


@pytest.fixture
def script() -> Script:
    return Script("first", "second")


@pytest_asyncio.fixture
async def url(script: Script) -> AsyncIterator[str]:
    app = FastAPI()

    @app.get("/turn")
    async def turn(request: Request) -> TurnEventStream:
        user = Message(id="u", conversation_id="c", seq=1, role="user")
        answer = Message(id="a", conversation_id="c", seq=2, role="assistant")
        return TurnEventStream(ChatTurn.start("c", user, answer, script), request, Words())

    async with uvicorn_on_loopback(app) as base:
        yield f"{base}/turn"


async def test_opening_frames_and_closing_in_order(script: Script, url: str) -> None:
    script.go_on.set()
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(url)

    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    data = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert data == ["[", "first", "second", "last", "]"]


async def test_a_silent_turn_sends_keepalives(
    script: Script, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streaming, "KEEPALIVE_S", 0.05)
    lines: list[str] = []
    async with httpx.AsyncClient(timeout=30) as http, http.stream("GET", url) as response:
        async for line in response.aiter_lines():
            lines.append(line)
            if line == ": keepalive" and lines.count(": keepalive") == 2:
                script.go_on.set()

    assert lines.count(": keepalive") >= 2
    assert lines.index("data: second") < lines.index(": keepalive") < lines.index("data: last")


async def test_a_client_that_goes_away_cancels_the_turn(script: Script, url: str) -> None:
    async with httpx.AsyncClient(timeout=30) as http, http.stream("GET", url) as response:
        async for line in response.aiter_lines():
            if line == "data: second":
                break  # hang up while the turn waits

    for _ in range(200):  # the server notices the disconnect asynchronously
        if script.cancelled:
            break
        await asyncio.sleep(0.05)
    assert script.cancelled == ["the client disconnected"]
