"""`StartingApp`: requests are accepted at once and wait for the app being built; the built
app's lifespan runs; a failed start answers 503 with the reason instead of hanging."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from sandbox_analyst.api.starting import StartingApp
from tests.conftest import started


def gated_app(gate: asyncio.Event, events: list[str]) -> StartingApp:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    application = FastAPI(lifespan=lifespan)

    @application.get("/hello")
    async def hello() -> dict[str, Any]:
        return {"hello": "world"}

    async def build() -> FastAPI:
        await gate.wait()
        return application

    return StartingApp(build)


async def test_a_request_sent_while_the_app_is_built_waits_for_it() -> None:
    gate, events = asyncio.Event(), []
    async with started(gated_app(gate, events)) as starting:
        transport = httpx.ASGITransport(app=starting)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            waiting = asyncio.create_task(client.get("/hello"))
            await asyncio.sleep(0.1)
            assert not waiting.done()
            assert events == []  # the app's own startup runs once it is built
            gate.set()
            response = await waiting
            assert response.json() == {"hello": "world"}
            assert events == ["startup"]
    assert events == ["startup", "shutdown"]


async def test_a_server_stopped_while_the_app_is_built_waits_and_shuts_it_down() -> None:
    gate, events = asyncio.Event(), []
    starting = gated_app(gate, events)
    async with started(starting):
        asyncio.get_running_loop().call_later(0.05, gate.set)
    assert events == ["startup", "shutdown"]


async def test_a_failed_build_answers_503_with_the_reason() -> None:
    async def build() -> FastAPI:
        raise ImportError("no module named 'fastapi_extra'")

    async with started(StartingApp(build)) as starting:
        transport = httpx.ASGITransport(app=starting)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/api/health")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "server_unavailable"
    assert "ImportError: no module named 'fastapi_extra'" in error["message"]


async def test_a_failed_app_startup_answers_503_with_the_reason() -> None:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("database is locked")
        yield

    async def build() -> FastAPI:
        return FastAPI(lifespan=lifespan)

    async with started(StartingApp(build)) as starting:
        transport = httpx.ASGITransport(app=starting)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/anything")
    assert response.status_code == 503
    assert "database is locked" in response.json()["error"]["message"]
