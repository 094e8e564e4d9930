"""envd's `process.Process` service: `commands.run()` of the SDKs.

`Start` streams a start event (the pid), output as it comes (base64), keep-alives, and an end
event with the exit code. A command lives as long as its stream: when the client goes away, or
the call's deadline (`Connect-Timeout-Ms`, the SDK's `timeout`) passes, or `SendSignal` kills
it, its process group is killed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.responses import StreamingResponse

from sandbox_analyst.api.e2b.connect_wire import (
    STREAM_MEDIA_TYPE,
    ConnectError,
    as_connect_error,
    end_of_stream,
    envelope,
    error_response,
    stream_request,
    unary_request,
)
from sandbox_analyst.api.e2b.deps import RunningSandbox
from sandbox_analyst.api.e2b.paths import to_workdir
from sandbox_analyst.service.e2b import CommandEnd, LiveSandbox, RunningCommand

router = APIRouter(prefix="/process.Process")

_KEEPALIVE_DEFAULT_S = 30.0
_KILL_GRACE_S = 1.0


@router.post("/Start")
async def start(request: Request, live: RunningSandbox) -> Response:
    try:
        message = await stream_request(request)
        command = _start(live, message, _deadline(request))
    except Exception as exc:
        error = as_connect_error(exc)
        if error is None:
            raise
        return StreamingResponse(_only(end_of_stream(error)), media_type=STREAM_MEDIA_TYPE)
    return StreamingResponse(
        _events(command, _keepalive(request), _deadline(request)),
        media_type=STREAM_MEDIA_TYPE,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _start(live: LiveSandbox, message: dict[str, Any], deadline: float | None) -> RunningCommand:
    if message.get("pty"):
        raise ConnectError("unimplemented", "pseudo-terminals are not offered here")
    process = message.get("process")
    if not isinstance(process, dict) or not isinstance(process.get("cmd"), str):
        raise ConnectError("invalid_argument", "process.cmd is required")
    args = process.get("args") or []
    envs = process.get("envs") or {}
    if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
        raise ConnectError("invalid_argument", "process.args must be strings")
    if not isinstance(envs, dict) or not all(isinstance(v, str) for v in envs.values()):
        raise ConnectError("invalid_argument", "process.envs must map names to strings")
    tag = message.get("tag")
    return live.start_command(
        [process["cmd"], *args],
        cwd=to_workdir(process.get("cwd")),
        env_vars=envs,
        tag=tag if isinstance(tag, str) else None,
        # The client's deadline, not the sandbox's default limit; a little later than the
        # stream's own end at the deadline (deadline_exceeded), so that one is what is seen.
        timeout=None if deadline is None else deadline + _KILL_GRACE_S,
    )


async def _events(
    command: RunningCommand, keepalive: float, timeout: float | None
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    try:
        yield envelope({"event": {"start": {"pid": command.pid}}})
        while True:
            wait = keepalive if deadline is None else min(keepalive, deadline - loop.time())
            try:
                async with asyncio.timeout(max(wait, 0)):
                    event = await command.events.get()
            except TimeoutError:
                if deadline is not None and loop.time() >= deadline:
                    # Connect's way: the call failed with deadline_exceeded (the command is
                    # killed below), which the SDKs raise as their timeout error.
                    yield end_of_stream(
                        ConnectError("deadline_exceeded", f"the command ran past {timeout:g} s")
                    )
                    return
                yield envelope({"event": {"keepalive": {}}})
                continue
            if isinstance(event, CommandEnd):
                end: dict[str, Any] = {
                    "exitCode": event.exit_code,
                    "exited": event.exited,
                    "status": event.status,
                }
                if event.error:
                    end["error"] = event.error
                yield envelope({"event": {"end": end}})
                break
            data = base64.b64encode(event.text.encode()).decode()
            yield envelope({"event": {"data": {event.stream: data}}})
        yield end_of_stream()
    finally:
        # However the stream ends (the client left, its deadline passed), the command ends.
        if command.kill() and command.task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await command.task


async def _only(data: bytes) -> AsyncIterator[bytes]:
    yield data


@router.post("/List")
async def list_processes(request: Request, live: RunningSandbox) -> Response:
    await unary_request(request)
    processes = [
        {
            "pid": command.pid,
            "config": {
                "cmd": command.argv[0],
                "args": command.argv[1:],
                "envs": dict(command.env_vars),
                **({"cwd": command.cwd} if command.cwd else {}),
            },
            **({"tag": command.tag} if command.tag else {}),
        }
        for command in live.commands()
    ]
    return JSONResponse({"processes": processes})


@router.post("/SendSignal")
async def send_signal(request: Request, live: RunningSandbox) -> Response:
    try:
        message = await unary_request(request)
        live.kill_command(_pid(live, message.get("process")))
    except Exception as exc:
        error = as_connect_error(exc)
        if error is None:
            raise
        return error_response(error.code, error.message)
    return JSONResponse({})


def _pid(live: LiveSandbox, selector: Any) -> int:
    if isinstance(selector, dict) and isinstance(selector.get("pid"), int):
        return selector["pid"]
    if isinstance(selector, dict) and isinstance(selector.get("tag"), str):
        for command in live.commands():
            if command.tag == selector["tag"]:
                return command.pid
        raise ConnectError("not_found", f"no process tagged {selector['tag']!r}")
    raise ConnectError("invalid_argument", "process.pid or process.tag is required")


@router.post("/{method}")
async def not_offered(method: str, live: RunningSandbox) -> Response:
    return error_response("unimplemented", f"process.Process/{method} is not offered here")


def _deadline(request: Request) -> float | None:
    """The call's deadline (`Connect-Timeout-Ms`, the SDK's `timeout`), in seconds."""
    value = request.headers.get("connect-timeout-ms", "")
    return int(value) / 1000 if value.isdigit() and int(value) > 0 else None


def _keepalive(request: Request) -> float:
    value = request.headers.get("keepalive-ping-interval", "")
    return float(value) if value.isdigit() and int(value) > 0 else _KEEPALIVE_DEFAULT_S
