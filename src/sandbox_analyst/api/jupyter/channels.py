"""The websocket half: `/jupyter/api/kernels/{id}/channels`, Jupyter messages v5 as JSON text
frames (a Jupyter server's default websocket protocol), each carrying its `channel`.

Served: `execute_request` (busy, execute_input, stream / display_data / execute_result /
error as the code runs, execute_reply, idle), `kernel_info_request`, `comm_info_request`,
`interrupt_request` and `shutdown_request` (control, answered at once, also while code runs).
Shell requests run one at a time in order; after an error, a request with `stop_on_error`
aborts those queued behind it, as ipykernel does. Other requests are answered with an error
reply naming them. Output goes to the connection that asked (no broadcast to other
connections of the kernel). A connection that closes ends what it was running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from importlib.metadata import version
from typing import Any

from fastapi import APIRouter
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from sandbox_analyst.api.jupyter.auth import jupyter_principal
from sandbox_analyst.api.jupyter.messages import (
    PROTOCOL_VERSION,
    BadMessage,
    Request,
    bundle,
    error_content,
    message,
    status,
)
from sandbox_analyst.api.jupyter.rest import KERNEL_DISPLAY_NAME, language_info
from sandbox_analyst.sandbox import Result, SandboxError
from sandbox_analyst.service import Kernel, KernelService, Principal, Services, public_error

log = logging.getLogger(__name__)
router = APIRouter(prefix="/jupyter/api")


@router.websocket("/kernels/{kernel_id}/channels")
async def channels(websocket: WebSocket, kernel_id: str) -> None:
    services: Services = websocket.app.state.services
    try:
        principal = await jupyter_principal(websocket)
        kernel = services.kernels.get(principal, kernel_id)
    except Exception as exc:
        error = public_error(exc)
        if error is None:
            raise
        await _deny(websocket, error.http_status, error.code, error.message)
        return
    await websocket.accept()
    channel = _Channel(websocket, kernel, services.kernels, services.settings.sandbox.timeout)
    kernel.connections += 1
    try:
        await channel.serve(principal)
    finally:
        kernel.connections -= 1


async def _deny(websocket: WebSocket, status_code: int, reason: str, text: str) -> None:
    """Refuse the handshake with an HTTP answer saying why, where the server can send one."""
    try:
        await websocket.send_denial_response(
            JSONResponse({"message": text, "reason": reason}, status_code=status_code)
        )
    except RuntimeError:  # no denial-response extension: a plain refusal (HTTP 403)
        await websocket.close(code=1008, reason=text[:120])


class _Channel:
    def __init__(
        self, websocket: WebSocket, kernel: Kernel, kernels: KernelService, timeout: float
    ) -> None:
        self._websocket = websocket
        self._kernel = kernel
        self._kernels = kernels
        self._timeout = timeout
        self._shell: asyncio.Queue[Request] = asyncio.Queue()
        self._sending = asyncio.Lock()

    async def serve(self, principal: Principal) -> None:
        worker = asyncio.create_task(self._run_shell())
        try:
            while True:
                try:
                    frame = json.loads(await self._websocket.receive_text())
                    request = Request.parse(frame)
                except WebSocketDisconnect:
                    return
                except (ValueError, BadMessage) as exc:  # json's errors are ValueErrors
                    log.info("ignoring a frame that is not a Jupyter message: %s", exc)
                    continue
                if request.channel == "control":
                    if not await self._control(request, principal):
                        return
                elif request.channel == "shell":
                    self._shell.put_nowait(request)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def send(self, payload: dict[str, Any]) -> None:
        async with self._sending:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self._websocket.send_text(json.dumps(payload, default=str))

    async def _reply(self, request: Request, content: dict[str, Any]) -> None:
        reply_type = request.msg_type.removesuffix("_request") + "_reply"
        await self.send(message(reply_type, content, request, request.channel))

    async def _control(self, request: Request, principal: Principal) -> bool:
        """Answer a control request at once; False when the connection should close."""
        await self.send(status("busy", request))
        try:
            match request.msg_type:
                case "interrupt_request":
                    await self._kernel.sandbox.interrupt()
                    await self._reply(request, {"status": "ok"})
                case "shutdown_request":
                    restart = bool(request.content.get("restart"))
                    if restart:
                        await self._kernels.restart(principal, self._kernel.id)
                    else:
                        await self._kernels.delete(principal, self._kernel.id)
                    await self._reply(request, {"status": "ok", "restart": restart})
                    if not restart:
                        return False
                case _:
                    await self._simple(request)
        except SandboxError as exc:
            await self._reply(request, _failure("SandboxError", str(exc)))
        finally:
            await self.send(status("idle", request))
        return True

    async def _run_shell(self) -> None:
        while True:
            request = await self._shell.get()
            await self.send(status("busy", request))
            failed = False
            try:
                if request.msg_type == "execute_request":
                    failed = await self._execute(request)
                else:
                    await self._simple(request)
            except SandboxError as exc:
                await self._reply(request, _failure("SandboxError", str(exc)))
            finally:
                await self.send(status("idle", request))
            if failed and request.content.get("stop_on_error", True):
                await self._abort_queued()

    async def _simple(self, request: Request) -> None:
        match request.msg_type:
            case "kernel_info_request":
                await self._reply(request, _kernel_info())
            case "comm_info_request":
                await self._reply(request, {"status": "ok", "comms": {}})
            case "is_complete_request":
                await self._reply(request, {"status": "unknown"})
            case _:
                text = f"{request.msg_type} is not supported by this kernel"
                await self._reply(request, _failure("NotImplementedError", text))

    async def _execute(self, request: Request) -> bool:
        """Run one execute_request; whether its code failed."""
        content = request.content
        code = content.get("code")
        if not isinstance(code, str):
            await self._reply(request, _failure("ValueError", "execute_request needs its code"))
            return True
        silent = bool(content.get("silent"))
        counted = not silent and bool(content.get("store_history", True))
        kernel = self._kernel
        async with kernel.executing() as sandbox:
            count = kernel.next_count() if counted else kernel.execution_count
            if not silent:
                await self.send(
                    message(
                        "execute_input", {"code": code, "execution_count": count}, request, "iopub"
                    )
                )

            async def on_stdout(text: str) -> None:
                await self._stream(request, "stdout", text, silent)

            async def on_stderr(text: str) -> None:
                await self._stream(request, "stderr", text, silent)

            async def on_result(result: Result) -> None:
                if not silent:
                    await self.send(_display(result, count, request))

            execution = await sandbox.run_code(
                code,
                timeout=self._timeout,
                on_stdout=on_stdout,
                on_stderr=on_stderr,
                on_result=on_result,
            )
        error = execution.error
        if error is None:
            reply = {"status": "ok", "execution_count": count, "user_expressions": {}}
            await self._reply(request, {**reply, "payload": []})
            return False
        details = error_content(error)
        if not silent:
            await self.send(message("error", details, request, "iopub"))
        await self._reply(request, {"status": "error", "execution_count": count, **details})
        return True

    async def _stream(self, request: Request, name: str, text: str, silent: bool) -> None:
        if not silent and text:
            await self.send(message("stream", {"name": name, "text": text}, request, "iopub"))

    async def _abort_queued(self) -> None:
        while not self._shell.empty():
            queued = self._shell.get_nowait()
            await self.send(status("busy", queued))
            await self._reply(queued, {"status": "aborted"})
            await self.send(status("idle", queued))


def _display(result: Result, count: int, request: Request) -> dict[str, Any]:
    data = bundle(result)
    if result.is_main_result:
        content = {"data": data, "metadata": {}, "execution_count": count}
        return message("execute_result", content, request, "iopub")
    return message(
        "display_data", {"data": data, "metadata": {}, "transient": {}}, request, "iopub"
    )


def _failure(name: str, text: str) -> dict[str, Any]:
    return {"status": "error", "ename": name, "evalue": text, "traceback": [f"{name}: {text}"]}


def _kernel_info() -> dict[str, Any]:
    return {
        "status": "ok",
        "protocol_version": PROTOCOL_VERSION,
        "implementation": "sandbox-analyst",
        "implementation_version": version("sandbox-analyst"),
        "language_info": language_info(),
        "banner": f"{KERNEL_DISPLAY_NAME}: an isolated sandbox, no network",
        "help_links": [],
    }
