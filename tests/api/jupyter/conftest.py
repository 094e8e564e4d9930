"""The Jupyter-server subset under /jupyter: the real app (a fresh database per test) with
the session's shared sandboxes behind it, alice's and bob's API keys (a Jupyter token here is
an API key), and the helpers a client of a Jupyter server needs: a kernel, a websocket to its
channels, an execute_request and the messages answering it until the kernel is idle again."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
import websockets

from sandbox_analyst.sandbox import SessionManager
from sandbox_analyst.service import Services


@pytest.fixture
def app_sessions(sandbox_sessions: SessionManager) -> SessionManager:
    return sandbox_sessions


@dataclass(frozen=True)
class Keys:
    alice: str
    bob: str
    root: str  # an admin
    revoked: str  # one of alice's, revoked


@pytest_asyncio.fixture(loop_scope="session")
async def keys(services: Services) -> Keys:
    secrets = []
    for name, admin in (("alice", False), ("bob", False), ("root", True)):
        user = await services.users.create_user(name, admin=admin)
        secrets.append((await services.users.create_key(user.id)).secret)
    revoked = await services.users.create_key("alice")
    await services.users.revoke_key(revoked.record.id)
    return Keys(*secrets, revoked.secret)


async def start_kernel(base_url: str, token: str) -> str:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post("/jupyter/api/kernels", params={"token": token})
    assert response.status_code == 201, response.text
    return response.json()["id"]


@asynccontextmanager
async def channels(
    base_url: str, kernel_id: str, token: str
) -> AsyncIterator[websockets.ClientConnection]:
    ws_url = base_url.replace("http", "ws", 1)
    url = f"{ws_url}/jupyter/api/kernels/{kernel_id}/channels?token={token}"
    async with websockets.connect(url) as ws:
        yield ws


def execute_request(code: str, **content: Any) -> dict[str, Any]:
    """An execute_request exactly as Open WebUI's code interpreter sends it (protocol 5.3)."""
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": "execute_request",
            "username": "user",
            "session": uuid.uuid4().hex,
            "date": "",
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
            **content,
        },
        "channel": "shell",
    }


async def until_idle(
    ws: websockets.ClientConnection, request: dict[str, Any]
) -> list[dict[str, Any]]:
    """The messages answering `request`, up to the kernel's `idle` status for it."""
    answers = []
    while True:
        reply = json.loads(await ws.recv())
        if reply["parent_header"].get("msg_id") != request["header"]["msg_id"]:
            continue
        answers.append(reply)
        if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
            return answers


async def execute(ws: websockets.ClientConnection, code: str, **content: Any) -> list[dict]:
    request = execute_request(code, **content)
    await ws.send(json.dumps(request))
    return await until_idle(ws, request)


def of_type(answers: list[dict[str, Any]], msg_type: str) -> list[dict[str, Any]]:
    return [answer for answer in answers if answer["msg_type"] == msg_type]


def stdout_of(answers: list[dict[str, Any]]) -> str:
    streams = of_type(answers, "stream")
    return "".join(s["content"]["text"] for s in streams if s["content"]["name"] == "stdout")
