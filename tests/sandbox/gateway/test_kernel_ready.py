"""When a kernel restarted, the gateway's iopub subscription reconnects to it on its own
timer: a kernel is ready only once its shell *and* its iopub channel have answered, or the
next request's `idle` status may be lost and the request wait forever.

The websocket is replaced by a scripted channel here: what matters is the order in which the
kernel's messages arrive, which a real gateway only produces by chance."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sandbox_analyst.config import GatewaySettings
from sandbox_analyst.sandbox.gateway import kernel as kernel_module
from sandbox_analyst.sandbox.gateway.channel import ChannelEvent, Item
from sandbox_analyst.sandbox.gateway.errors import KernelGoneError
from sandbox_analyst.sandbox.gateway.kernel import RemoteKernel
from sandbox_analyst.sandbox.gateway.messages import MessageFactory
from sandbox_analyst.sandbox.gateway.rest import GatewayRest


class ScriptedChannel:
    """The part of `KernelChannel` that `wait_ready` uses; the test plays the kernel."""

    def __init__(self) -> None:
        self.factory = MessageFactory("tester")
        self.sent: list[dict[str, Any]] = []
        self.waiting: dict[str, asyncio.Queue[Item]] = {}
        self.new_request = asyncio.Event()

    def join(self, message_id: str, queue: asyncio.Queue[Item]) -> None:
        self.waiting[message_id] = queue

    def forget(self, *message_ids: str) -> None:
        for message_id in message_ids:
            self.waiting.pop(message_id, None)

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        self.new_request.set()

    async def next_request(self) -> dict[str, Any]:
        await self.new_request.wait()
        self.new_request.clear()
        return self.sent[-1]

    def answer(self, request: dict[str, Any], channel: str, msg_type: str, **content: Any) -> None:
        message = self.factory.session.msg(msg_type, content, parent=request["header"])
        message["channel"] = channel
        self.waiting[request["header"]["msg_id"]].put_nowait(message)

    def event(self, kind: str) -> None:
        for queue in self.waiting.values():
            queue.put_nowait(ChannelEvent(kind))  # type: ignore[arg-type]


@pytest.fixture
async def kernel(monkeypatch: pytest.MonkeyPatch) -> RemoteKernel:
    monkeypatch.setattr(kernel_module, "NUDGE_EVERY", 0.05)
    settings = GatewaySettings(url="http://127.0.0.1:9", token="t")
    remote = RemoteKernel(GatewayRest(settings), "kernel-1", settings, "python3")
    remote.channel = ScriptedChannel()  # type: ignore[assignment]
    return remote


async def test_a_shell_reply_without_iopub_is_not_ready_and_the_kernel_is_asked_again(
    kernel: RemoteKernel,
) -> None:
    channel: ScriptedChannel = kernel.channel  # type: ignore[assignment]
    ready = asyncio.create_task(kernel.wait_ready(30))
    first = await channel.next_request()
    channel.answer(first, "shell", "kernel_info_reply", status="ok")  # its iopub status is lost
    second = await asyncio.wait_for(channel.next_request(), 5)
    assert second["header"]["msg_type"] == "kernel_info_request"
    assert second["header"]["msg_id"] != first["header"]["msg_id"]
    assert not ready.done()
    channel.answer(second, "iopub", "status", execution_state="busy")
    channel.answer(second, "shell", "kernel_info_reply", status="ok")
    await asyncio.wait_for(ready, 5)
    assert channel.waiting == {}  # every probe's routing is undone


async def test_iopub_before_the_shell_reply_waits_for_the_reply(kernel: RemoteKernel) -> None:
    channel: ScriptedChannel = kernel.channel  # type: ignore[assignment]
    ready = asyncio.create_task(kernel.wait_ready(30))
    first = await channel.next_request()
    channel.answer(first, "iopub", "status", execution_state="busy")
    await asyncio.sleep(0.2)
    assert not ready.done()
    channel.answer(first, "shell", "kernel_info_reply", status="ok")
    await asyncio.wait_for(ready, 5)


async def test_a_kernel_gone_while_waiting_is_reported(kernel: RemoteKernel) -> None:
    channel: ScriptedChannel = kernel.channel  # type: ignore[assignment]
    ready = asyncio.create_task(kernel.wait_ready(30))
    await channel.next_request()
    channel.event("gone")
    with pytest.raises(KernelGoneError):
        await asyncio.wait_for(ready, 5)
