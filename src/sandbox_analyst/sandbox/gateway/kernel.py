"""One kernel on the gateway: started or found over REST, talked to over its websocket.

`RequestStream` follows one execute request to its end: the execute reply on the shell channel
and the `idle` status on iopub (which comes after all of the request's outputs). If the socket
dropped meanwhile, a kernel_info probe sent after the reconnect bounds the wait: the kernel
answers requests in order, so once the probe is answered (and its own `idle` seen) nothing more
will come for ours, and whatever was lost is reported as such instead of waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox_analyst.config import GatewaySettings
from sandbox_analyst.sandbox.gateway import messages
from sandbox_analyst.sandbox.gateway.channel import ChannelEvent, Item, KernelChannel
from sandbox_analyst.sandbox.gateway.errors import (
    GatewayError,
    GatewayUnavailableError,
    KernelGoneError,
)
from sandbox_analyst.sandbox.gateway.kernel_side import KEY
from sandbox_analyst.sandbox.gateway.messages import MessageFactory
from sandbox_analyst.sandbox.gateway.rest import GatewayRest, auth_headers, ssl_context

OutputSink = Callable[[dict[str, Any]], Awaitable[None] | None]
LivenessCheck = Callable[[], Awaitable[None]]
# While a request waits this long with nothing arriving, ask the gateway whether the kernel is
# still there: a gateway may drop a kernel (culled, shut down by someone) and leave its
# websocket open and silent.
LIVENESS_CHECK_AFTER = 5.0
# Times a request the kernel never received is sent again after reconnects (`_send_again`).
MAX_RESENDS = 3
# How often `wait_ready` asks a restarted kernel again until both of its channels answer.
NUDGE_EVERY = 0.5


class DeadlineReached(Exception):
    """The request did not finish before its deadline (it may still be running)."""


class KernelRestarted(Exception):
    """The kernel process died and the gateway restarted it (or gave up: `dead`)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.dead = kind == "dead"


class CallRefused(Exception):
    """A bootstrap operation refused (bad path, missing file, quota...)."""

    def __init__(self, kind: str, path: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.path = path


class BootstrapMissing(Exception):
    """The kernel does not have our bootstrap: it was restarted behind our back."""


@dataclass
class Reply:
    content: dict[str, Any]  # empty when the reply itself was lost in a reconnect
    extra: dict[str, Any]  # what the bootstrap put in the reply's metadata
    complete: bool = True  # False: the connection dropped and some of it was lost
    execution_count: int | None = None


@dataclass
class RequestStream:
    channel: KernelChannel
    message: dict[str, Any]
    on_output: OutputSink | None = None
    check_alive: LivenessCheck | None = None
    queue: asyncio.Queue[Item] = field(init=False)
    _reply: dict[str, Any] | None = field(default=None, init=False)
    _idle: bool = field(default=False, init=False)
    _probe: str | None = field(default=None, init=False)
    _probe_answered: bool = field(default=False, init=False)
    _probe_idle: bool = field(default=False, init=False)
    _execution_count: int | None = field(default=None, init=False)
    _heard: bool = field(default=False, init=False)  # anything of the kernel's about ours
    _resent: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.queue = self.channel.expect(self.message["header"]["msg_id"])

    async def send(self) -> None:
        await self.channel.send(self.message)

    async def pump(self, deadline: float | None) -> Reply:
        loop = asyncio.get_running_loop()
        while not self._finished():
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise DeadlineReached
            wait = (
                LIVENESS_CHECK_AFTER if remaining is None else min(remaining, LIVENESS_CHECK_AFTER)
            )
            try:
                async with asyncio.timeout(wait):
                    item = await self.queue.get()
            except TimeoutError:
                if self.check_alive is not None:
                    await self.check_alive()
                continue
            if isinstance(item, ChannelEvent):
                await self._on_event(item)
            else:
                await self._on_message(item)
        reply = self._reply
        if reply is None:  # lost while the socket was down: the kernel has moved on
            return Reply({}, {}, complete=False, execution_count=self._execution_count)
        metadata = reply.get("metadata") or {}
        extra = metadata.get(KEY) if isinstance(metadata, dict) else None
        return Reply(
            reply.get("content") or {},
            extra if isinstance(extra, dict) else {},
            complete=self._idle,
            execution_count=self._execution_count,
        )

    def _finished(self) -> bool:
        replied = self._reply is not None or self._probe_answered
        drained = self._idle or self._probe_idle
        return replied and drained

    async def _on_event(self, event: ChannelEvent) -> None:
        if event.kind == "reconnected":
            probe = self.channel.factory.kernel_info_request()
            self._probe = probe["header"]["msg_id"]
            self.channel.join(self._probe, self.queue)
            await self.channel.send(probe)
        elif event.kind in ("restarting", "dead"):
            raise KernelRestarted(event.kind)
        elif event.kind == "gone":
            raise KernelGoneError(event.detail)
        else:
            raise GatewayUnavailableError(event.detail)

    async def _on_message(self, message: dict[str, Any]) -> None:
        kind = messages.msg_type(message)
        content = message.get("content") or {}
        if self._probe is not None and messages.parent_id(message) == self._probe:
            if kind == "kernel_info_reply":
                self._probe_answered = True
            elif kind == "status" and content.get("execution_state") == "idle":
                self._probe_idle = True
            if self._probe_answered and self._probe_idle and not self._heard:
                await self._send_again()
            return
        self._heard = True
        if kind == "execute_reply":
            self._reply = message
            count = content.get("execution_count")
            if isinstance(count, int) and self._execution_count is None:
                self._execution_count = count
        elif kind == "status":
            if content.get("execution_state") == "idle":
                self._idle = True
        elif kind == "execute_input":
            count = content.get("execution_count")
            if isinstance(count, int):
                self._execution_count = count
        elif self.on_output is not None:
            outcome = self.on_output(message)
            if inspect.isawaitable(outcome):
                await outcome

    async def _send_again(self) -> None:
        """The probe sent after a reconnect is done and the kernel said nothing at all about
        our request: no `busy`, no input, no reply. The kernel handles requests in order and
        publishes on iopub in order, so the request never reached it (it was written to a
        connection as that died, e.g. cut while idle) and nothing of it ran: send it again
        rather than report it lost. (A gateway replays what a kernel said while its websocket
        was down, so a request that did run is heard of.)"""
        if self._resent >= MAX_RESENDS or self._probe is None:
            return
        self._resent += 1
        self.channel.forget(self._probe)
        self._probe, self._probe_answered, self._probe_idle = None, False, False
        await self.channel.send(self.message)

    def close(self) -> None:
        ids = [self.message["header"]["msg_id"]]
        if self._probe is not None:
            ids.append(self._probe)
        self.channel.forget(*ids)


class RemoteKernel:
    def __init__(
        self, rest: GatewayRest, kernel_id: str, settings: GatewaySettings, name: str
    ) -> None:
        self.rest = rest
        self.kernel_id = kernel_id
        self.name = name
        self.settings = settings
        self.factory = MessageFactory(settings.username)
        self.channel = self._new_channel()
        self.started_at = time.time()

    def _new_channel(self) -> KernelChannel:
        return KernelChannel(
            self.rest.websocket_url(self.kernel_id),
            headers=auth_headers(self.settings),
            ssl_context=ssl_context(self.settings),
            factory=self.factory,
            connect_timeout=self.settings.connect_timeout,
            reconnect_timeout=self.settings.reconnect_timeout,
        )

    @classmethod
    async def start(cls, rest: GatewayRest, name: str, settings: GatewaySettings) -> RemoteKernel:
        env = {"KERNEL_USERNAME": settings.username, **settings.kernel_env}
        model = await rest.start_kernel(name, env)
        kernel_id = model.get("id") if isinstance(model, dict) else None
        if not isinstance(kernel_id, str) or not kernel_id:
            raise GatewayError(f"the gateway started a kernel but sent no id: {model!r}")
        kernel = cls(rest, kernel_id, settings, name)
        try:
            await kernel._open_while_alive(settings.kernel_start_timeout)
        except BaseException:
            await kernel.shutdown()
            raise
        return kernel

    async def _open_while_alive(self, timeout: float) -> None:
        """Open the websocket of a kernel that is starting. The gateway holds the handshake
        until the kernel answers (Kernel Gateway for up to a minute), so a kernel that dies at
        start would be learnt of only then: meanwhile ask the gateway every few seconds whether
        it still has the kernel."""
        opening = asyncio.ensure_future(self.channel.open(timeout))
        try:
            while not (await asyncio.wait({opening}, timeout=LIVENESS_CHECK_AFTER))[0]:
                await self.check_alive()
            opening.result()
        finally:
            if not opening.done():
                opening.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await opening

    @classmethod
    async def attach(
        cls, rest: GatewayRest, kernel_id: str, settings: GatewaySettings
    ) -> RemoteKernel:
        """A kernel started elsewhere (another server process); raises `KernelGoneError`."""
        model = await rest.kernel(kernel_id)
        kernel = cls(rest, kernel_id, settings, str(model.get("name") or settings.kernel_name))
        await kernel.channel.open(settings.kernel_start_timeout)
        return kernel

    def stream(
        self,
        code: str,
        request: dict[str, Any],
        *,
        silent: bool = False,
        store_history: bool = True,
        on_output: OutputSink | None = None,
    ) -> RequestStream:
        message = self.factory.execute_request(
            code, request=request, silent=silent, store_history=store_history
        )
        return RequestStream(self.channel, message, on_output, self.check_alive)

    async def check_alive(self) -> None:
        """Raise `KernelGoneError` if the gateway no longer has the kernel, `KernelRestarted`
        if it gave up on it; a gateway that does not answer is not taken as a verdict."""
        try:
            model = await self.rest.kernel(self.kernel_id)
        except KernelGoneError:
            raise
        except GatewayError:
            return
        if isinstance(model, dict) and model.get("execution_state") == "dead":
            raise KernelRestarted("dead")

    async def call(self, op: str, timeout: float | None = None, **args: Any) -> Any:
        """Run one of the bootstrap's operations; returns its value."""
        reply = await self.execute(
            messages.CALL_CODE, {"op": op, "args": args}, silent=True, timeout=timeout
        )
        return self._value(reply)

    async def execute(
        self,
        code: str,
        request: dict[str, Any],
        *,
        silent: bool = True,
        timeout: float | None = None,
    ) -> Reply:
        stream = self.stream(code, request, silent=silent, store_history=False)
        limit = self.settings.request_timeout if timeout is None else timeout
        try:
            await stream.send()
            return await stream.pump(asyncio.get_running_loop().time() + limit)
        except DeadlineReached:
            raise GatewayUnavailableError(f"the kernel did not answer within {limit:g} s") from None
        finally:
            stream.close()

    @staticmethod
    def _value(reply: Reply) -> Any:
        content = reply.content
        if not content:
            raise GatewayUnavailableError("the kernel's answer was lost while reconnecting")
        if content.get("status") == "error":
            name = str(content.get("ename", ""))
            if name in ("ModuleNotFoundError", "NameError") and "_sandbox_analyst" in str(
                content.get("evalue", "")
            ):
                raise BootstrapMissing(str(content.get("evalue")))
            raise GatewayError(f"the kernel failed an operation: {name}: {content.get('evalue')}")
        if not reply.extra and content.get("status") == "ok":
            raise BootstrapMissing("the kernel answered without the bootstrap's metadata")
        error = reply.extra.get("error")
        if isinstance(error, dict):
            raise CallRefused(
                str(error.get("kind", "")), str(error.get("path", "")), str(error.get("message"))
            )
        return reply.extra.get("value")

    async def bootstrap(self, config: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Install the kernel-side module (a silent execute)."""
        reply = await self.execute(
            messages.bootstrap_code(config), {}, silent=True, timeout=timeout
        )
        if reply.content.get("status") == "error":
            raise GatewayError(
                "the kernel refused the sandbox bootstrap: "
                f"{reply.content.get('ename')}: {reply.content.get('evalue')}"
            )
        value = reply.extra.get("value")
        return value if isinstance(value, dict) else {}

    async def wait_ready(self, timeout: float) -> None:
        """Until the kernel (after a restart) answers on its shell channel *and* its iopub
        channel reaches us. The gateway's iopub subscription reconnects to the new kernel on
        its own timer: a kernel_info reply alone does not prove that the outputs of the next
        request will arrive, and a request whose `idle` status is lost waits forever. So, like
        Jupyter Server's own "nudge", ask again every `NUDGE_EVERY` seconds until both have
        been seen."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        queue: asyncio.Queue[Item] = asyncio.Queue()
        probes: list[str] = []
        replied = iopub_seen = False

        async def nudge() -> None:
            probe = self.factory.kernel_info_request()
            probes.append(probe["header"]["msg_id"])
            self.channel.join(probes[-1], queue)
            await self.channel.send(probe)

        try:
            await nudge()
            next_nudge = loop.time() + NUDGE_EVERY
            while not (replied and iopub_seen):
                now = loop.time()
                if now >= deadline:
                    raise GatewayUnavailableError(f"the kernel was not ready within {timeout:g} s")
                if now >= next_nudge:
                    await nudge()
                    next_nudge = now + NUDGE_EVERY
                try:
                    async with asyncio.timeout_at(min(deadline, next_nudge)):
                        item = await queue.get()
                except TimeoutError:
                    continue
                if isinstance(item, ChannelEvent):
                    if item.kind == "gone":
                        raise KernelGoneError(item.detail)
                    if item.kind == "unreachable":
                        raise GatewayUnavailableError(item.detail)
                    continue  # reconnected / restarting: the next nudge asks again
                if item.get("channel") == "iopub":
                    iopub_seen = True
                elif messages.msg_type(item) == "kernel_info_reply":
                    replied = True
        finally:
            self.channel.forget(*probes)

    async def interrupt(self) -> None:
        await self.rest.interrupt(self.kernel_id)

    async def restart(self) -> None:
        try:
            await self.rest.restart(self.kernel_id)
        except KernelGoneError:
            raise
        except GatewayError:
            await self.check_alive()  # a gateway that lost the kernel may answer 500
            raise
        self.channel.unclaimed_restart = False

    async def shutdown(self) -> bool:
        await self.channel.close()
        try:
            return await self.rest.shutdown_kernel(self.kernel_id)
        except GatewayError:
            return False

    async def detach(self) -> None:
        """Close our connection; the kernel keeps running."""
        await self.channel.close()
