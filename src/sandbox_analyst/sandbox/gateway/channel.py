"""The websocket to one kernel (`/api/kernels/{id}/channels`), shared by every request to it.

Messages are routed to the request that caused them by their parent's msg_id. When the socket
drops, it is re-opened with the same client session id, so the gateway replays what it buffered
meanwhile; messages seen twice (by msg_id) are dropped. Waiting requests hear of a reconnect,
of the kernel restarting or dying, and of the kernel or gateway being gone, as `ChannelEvent`s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from sandbox_analyst.sandbox.gateway import messages
from sandbox_analyst.sandbox.gateway.errors import (
    GatewayAuthError,
    GatewayUnavailableError,
    KernelGoneError,
)
from sandbox_analyst.sandbox.gateway.messages import MessageFactory

log = logging.getLogger(__name__)

_SEEN_KEPT = 4096  # msg_ids remembered to drop what a replay repeats
_MAX_FRAME = 256 * 1024 * 1024  # a big figure or DataFrame HTML is one frame


def _quick_ack(ws: ClientConnection) -> Callable[[], None]:
    """Acknowledge the gateway's segments at once. Jupyter Server's websocket leaves Nagle's
    algorithm on, so each reply that follows a small message (status, then result) waits for
    our ACK, which Linux delays by up to 40 ms: a trivial round trip then takes ~45 ms.
    TCP_QUICKACK is not sticky, hence set again after every frame."""
    sock = ws.transport.get_extra_info("socket")
    option = getattr(socket, "TCP_QUICKACK", None)
    if sock is None or option is None:
        return lambda: None

    def quick_ack() -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, option, 1)

    quick_ack()
    return quick_ack


@dataclass(frozen=True)
class ChannelEvent:
    """Something that happened to the connection or the kernel, not a message."""

    kind: Literal["reconnected", "restarting", "dead", "gone", "unreachable"]
    detail: str = ""


Item = dict[str, Any] | ChannelEvent


class KernelChannel:
    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str],
        ssl_context: ssl.SSLContext | None,
        factory: MessageFactory,
        connect_timeout: float,
        reconnect_timeout: float,
    ) -> None:
        self.url = f"{url}?session_id={factory.session_id}"
        self.factory = factory
        self._headers = dict(headers)
        self._ssl = ssl_context
        self._connect_timeout = connect_timeout
        self._reconnect_timeout = reconnect_timeout
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: dict[str, asyncio.Queue[Item]] = {}
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self._connected = asyncio.Event()
        self._closing = False
        self.failure: ChannelEvent | None = None  # set once the channel can never work again
        # A restart nobody was waiting for (e.g. the kernel died between two cells).
        self.unclaimed_restart = False
        self.reconnects = 0

    async def open(self, timeout: float) -> None:
        """Connect; the gateway accepts once the kernel is ready, hence the long `timeout`."""
        self._ws = await self._connect(timeout)
        self._connected.set()
        self._reader = asyncio.get_running_loop().create_task(self._read_forever())

    async def _connect(self, timeout: float) -> ClientConnection:
        try:
            return await connect(
                self.url,
                additional_headers=self._headers,
                ssl=self._ssl,
                open_timeout=timeout,
                max_size=_MAX_FRAME,
                max_queue=None,  # the reader never blocks; requests' queues hold the backlog
                compression=None,
                close_timeout=2,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status == 404:
                raise KernelGoneError("the gateway does not know this kernel") from exc
            if status in (401, 403):
                raise GatewayAuthError(
                    f"the gateway refused the websocket (HTTP {status}); check "
                    "sandbox.gateway.token"
                ) from exc
            raise GatewayUnavailableError(f"websocket refused with HTTP {status}") from exc
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise GatewayUnavailableError(f"cannot open the kernel websocket: {exc}") from exc

    def expect(self, message_id: str) -> asyncio.Queue[Item]:
        """A queue that receives every message whose parent is `message_id` (and events)."""
        queue: asyncio.Queue[Item] = asyncio.Queue()
        self._waiting[message_id] = queue
        if self.failure is not None:
            queue.put_nowait(self.failure)
        return queue

    def join(self, message_id: str, queue: asyncio.Queue[Item]) -> None:
        """Route `message_id`'s messages into an existing request's queue."""
        self._waiting[message_id] = queue

    def forget(self, *message_ids: str) -> None:
        for message_id in message_ids:
            self._waiting.pop(message_id, None)

    async def send(self, message: dict[str, Any]) -> None:
        """Send once connected; a message that cannot be sent now is sent after the reconnect
        (the request waiting for it learns of failures through its queue)."""
        if self.failure is not None:
            return
        try:
            async with asyncio.timeout(self._reconnect_timeout):
                await self._connected.wait()
        except TimeoutError:
            return  # the reader is giving up and will tell every waiting request
        ws = self._ws
        if ws is None:
            return
        try:
            await ws.send(messages.encode(message))
        except ConnectionClosed:
            # Dropped under our feet: the reader reconnects; resend once it has.
            async with asyncio.timeout(self._reconnect_timeout):
                await self._connected.wait()
            if self._ws is not None and self._ws is not ws:
                with contextlib.suppress(ConnectionClosed):
                    await self._ws.send(messages.encode(message))

    async def _read_forever(self) -> None:
        while not self._closing:
            ws = self._ws
            assert ws is not None
            quick_ack = _quick_ack(ws)
            try:
                async for frame in ws:
                    quick_ack()
                    await self._dispatch(frame)
            except ConnectionClosed:
                pass
            if self._closing:
                return
            self._connected.clear()
            log.info("kernel websocket %s dropped; reconnecting", self.url)
            if not await self._reconnect():
                return

    async def _reconnect(self) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._reconnect_timeout
        delay = 0.05
        last = ""
        while not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                self._ws = await self._connect(min(self._connect_timeout, remaining))
            except KernelGoneError:
                self._fail(ChannelEvent("gone", "the gateway no longer knows this kernel"))
                return False
            except (GatewayUnavailableError, GatewayAuthError) as exc:
                last = str(exc)
                await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
                delay = min(delay * 2, 1.0)
                continue
            self.reconnects += 1
            self._connected.set()
            self._broadcast(ChannelEvent("reconnected"))
            return True
        self._fail(
            ChannelEvent(
                "unreachable",
                f"the gateway stayed unreachable for {self._reconnect_timeout:g} s ({last})",
            )
        )
        return False

    async def _dispatch(self, frame: str | bytes) -> None:
        message = messages.decode(frame)
        if message is None:
            return
        identity = messages.msg_id(message)
        if identity is not None:
            if identity in self._seen:
                return  # replayed after a reconnect, already delivered
            self._seen.add(identity)
            self._seen_order.append(identity)
            if len(self._seen_order) > _SEEN_KEPT:
                self._seen.discard(self._seen_order.popleft())
        kind = messages.msg_type(message)
        parent = messages.parent_id(message)
        if kind == "status" and not parent:
            state = (message.get("content") or {}).get("execution_state")
            if state in ("restarting", "dead"):
                # The gateway's own notice: the kernel process died (and is being restarted).
                if not self._waiting:
                    self.unclaimed_restart = True
                self._broadcast(ChannelEvent(state))
            return
        if kind == "input_request" and self._ws is not None:
            # We never allow stdin; answer anyway so that a kernel that asks is not stuck.
            with contextlib.suppress(ConnectionClosed):
                await self._ws.send(messages.encode(self.factory.input_reply(message["header"])))
            return
        if parent is not None:
            queue = self._waiting.get(parent)
            if queue is not None:
                queue.put_nowait(message)

    def _broadcast(self, event: ChannelEvent) -> None:
        for queue in {id(queue): queue for queue in self._waiting.values()}.values():
            queue.put_nowait(event)

    def _fail(self, event: ChannelEvent) -> None:
        self.failure = event
        self._connected.set()  # release senders; they see `failure`
        self._ws = None
        self._broadcast(event)

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        self._waiting.clear()
