"""E2B's code interpreter (port 49999): `POST /execute` streaming one JSON object per line, and
the code contexts.

The stream: `stdout` / `stderr` (`text`, ISO `timestamp`) and `result` lines while the code
runs, a `keepalive` line every few seconds of silence, then `error` if it failed,
`number_of_executions` and `end_of_execution`. When the client goes away mid-execution the
code is interrupted (its session keeps its state); the server's time limit interrupts it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import StreamingResponse

from sandbox_analyst.api.e2b.deps import RunningSandbox
from sandbox_analyst.api.e2b.paths import to_e2b, to_workdir
from sandbox_analyst.sandbox import Execution, Result, SandboxError
from sandbox_analyst.service import ServiceError, ValidationError
from sandbox_analyst.service.e2b import CodeContext, LiveSandbox, normalize_language

router = APIRouter()

KEEPALIVE_S = 2.0
_DONE = object()


class ExecuteRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: str
    context_id: str | None = None
    language: str | None = None
    env_vars: dict[str, str] | None = None


class CreateContext(BaseModel):
    model_config = ConfigDict(extra="ignore")

    language: str | None = None
    cwd: str | None = Field(None, max_length=4096)


def _context(context: CodeContext) -> dict[str, str]:
    return {"id": context.id, "language": context.language, "cwd": to_e2b(context.cwd)}


@router.post("/execute")
async def execute(body: ExecuteRequest, request: Request, live: RunningSandbox) -> Response:
    if body.context_id and body.language:
        raise ValidationError("give context_id or language, not both")
    if body.context_id:
        context = live.context(body.context_id)
    else:
        context = await live.default_context(normalize_language(body.language))
    timeout = request.app.state.settings.sandbox.timeout
    return StreamingResponse(
        _execution_lines(live, context, body, timeout),
        media_type="application/x-ndjson",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _execution_lines(
    live: LiveSandbox, context: CodeContext, body: ExecuteRequest, timeout: float
) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    streamed = {"stdout": 0, "stderr": 0}

    def log(kind: str, text: str) -> None:
        streamed[kind] += 1
        queue.put_nowait({"type": kind, "text": text, "timestamp": _now()})

    async def stdout(text: str) -> None:
        log("stdout", text)

    async def stderr(text: str) -> None:
        log("stderr", text)

    async def result(item: Result) -> None:
        queue.put_nowait(result_line(item))

    async def ignore_error(_error: object) -> None:
        return None  # the final error is sent once, after the outputs

    task = asyncio.create_task(
        live.run(
            context,
            body.code,
            env_vars=body.env_vars,
            timeout=timeout,
            on_stdout=stdout,
            on_stderr=stderr,
            on_result=result,
            on_error=ignore_error,
        )
    )
    task.add_done_callback(lambda _task: queue.put_nowait(_DONE))
    try:
        while True:
            try:
                async with asyncio.timeout(KEEPALIVE_S):
                    item = await queue.get()
            except TimeoutError:
                # Long silent code: writing is also how a vanished client is noticed.
                yield _line({"type": "keepalive"})
                continue
            if item is _DONE:
                break
            yield _line(item)
        try:
            execution: Execution = task.result()
        except (SandboxError, ServiceError) as exc:
            # The sandbox went away under the code (killed, expired): say so in the stream,
            # as E2B's interpreter does when it loses its kernel.
            yield _line(
                {"type": "error", "name": type(exc).__name__, "value": str(exc), "traceback": ""}
            )
            yield _line({"type": "unexpected_end_of_execution"})
            return
        # Notes the sandbox adds at the end (output cut at its limit) were not streamed yet.
        for kind, texts in (("stdout", execution.logs.stdout), ("stderr", execution.logs.stderr)):
            for text in texts[streamed[kind] :]:
                yield _line({"type": kind, "text": text, "timestamp": _now()})
        if execution.error is not None:
            error = execution.error
            yield _line(
                {
                    "type": "error",
                    "name": error.name,
                    "value": error.value,
                    "traceback": error.traceback,
                }
            )
        if execution.execution_count is not None:
            yield _line(
                {"type": "number_of_executions", "execution_count": execution.execution_count}
            )
        yield _line({"type": "end_of_execution"})
    finally:
        if not task.done():  # the client went away: stop the code
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def result_line(result: Result) -> dict[str, Any]:
    line: dict[str, Any] = {"type": "result", "is_main_result": result.is_main_result}
    for name in result.formats():
        if name in result.extra:
            continue
        line[name] = getattr(result, name)
    if result.extra:
        line["extra"] = dict(result.extra)
    text = line.get("text")
    # E2B's interpreter hands a string's value, not its repr: `'abc'` arrives as `abc`.
    if isinstance(text, str) and len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        line["text"] = text[1:-1]
    return line


def _line(item: dict[str, Any]) -> bytes:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@router.post("/contexts")
async def create_context(body: CreateContext, live: RunningSandbox) -> dict[str, str]:
    context = await live.create_context(normalize_language(body.language), to_workdir(body.cwd))
    return _context(context)


@router.get("/contexts")
async def list_contexts(live: RunningSandbox) -> list[dict[str, str]]:
    return [_context(context) for context in live.contexts()]


@router.post("/contexts/{context_id}/restart")
async def restart_context(context_id: str, live: RunningSandbox) -> Response:
    await live.restart_context(context_id)
    return Response(status_code=204)


@router.delete("/contexts/{context_id}")
async def remove_context(context_id: str, live: RunningSandbox) -> Response:
    await live.remove_context(context_id)
    return Response(status_code=204)
