"""`/api/tasks`: agent tasks. Start one (JSON naming uploaded files by id, or multipart with
the files inline), follow its steps as server-sent events, read its result (summary, files
with diffs, step log), download a file or all of them as a zip, answer a command waiting in
the `confirm` mode, cancel it.

A task runs on the server whether or not anyone follows it: a client that disconnects from
the event stream does not stop it (`POST /api/tasks/{id}/cancel` does)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.datastructures import UploadFile
from starlette.responses import StreamingResponse

from sandbox_analyst.api.auth import CurrentPrincipal, ServicesDep
from sandbox_analyst.api.body_limit import BodyKind, body_kind
from sandbox_analyst.api.streaming import (
    KEEPALIVE,
    KEEPALIVE_S,
    EventStreamResponse,
    wants_event_stream,
)
from sandbox_analyst.service import (
    Permission,
    Principal,
    Services,
    TaskDetail,
    TaskInput,
    TaskRequest,
    TaskRun,
    ValidationError,
    content_disposition,
    event_payload,
)

router = APIRouter(prefix="/api/tasks", tags=["tasks"])

_EVENT_STREAM = {
    "description": "The task's events (`Accept: text/event-stream`): task_start, message, "
    "token, tool_call, stdout, stderr, tool_result, confirm, confirm_answer, error, task_end.",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}
_FORM_FIELDS = frozenset(
    {"prompt", "template", "assistant_id", "permission", "max_steps", "timeout"}
)


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
    template: Annotated[str | None, StringConstraints(max_length=100)] = None
    assistant_id: Annotated[str | None, StringConstraints(max_length=64)] = None
    permission: Permission = Permission.ALLOW
    max_steps: int | None = Field(None, ge=1, le=100)
    timeout: float | None = Field(None, gt=0, le=6 * 3600, description="Wall-clock seconds.")
    file_ids: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        default_factory=list, max_length=100, description="Uploads copied into the workdir."
    )


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    prompt: str
    status: str
    summary: str
    error: str | None
    template: str
    permission: str
    max_steps: int
    timeout_s: float
    usage: dict[str, Any] | None
    created_at: datetime
    finished_at: datetime | None


class TaskFileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    path: str
    change: str
    size: int
    sha256: str | None
    media_type: str
    diff: str | None


class TaskStepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    kind: str
    data: dict[str, Any]
    created_at: datetime


class TaskDetailOut(TaskOut):
    files: list[TaskFileOut]
    steps: list[TaskStepOut]


class ConfirmationAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow: bool
    reason: Annotated[str, StringConstraints(max_length=1000)] = ""


class CancelOut(BaseModel):
    cancelled: bool = Field(description="False when the task was not running.")


@router.post("", status_code=202, response_model=TaskOut, responses={200: _EVENT_STREAM})
@body_kind(BodyKind.INLINE_FILES)
async def start_task(request: Request, principal: CurrentPrincipal, services: ServicesDep) -> Any:
    """Start a task: JSON (`TaskCreate`, inputs named by `file_ids` from `POST /api/files`) or
    multipart/form-data (the same fields as form fields, the inputs as `files` parts). With
    `Accept: text/event-stream` the answer is the task's event stream, else the task as accepted
    (202, status running)."""
    task_request = await _task_request(request, principal, services)
    run = await services.tasks.start(principal, task_request)
    if wants_event_stream(request):
        return EventStreamResponse(_run_frames(run, request))
    # The task as it was accepted: one that finishes at once is still answered 202 "running",
    # as every other accepted task is; its outcome is read from the task or its events.
    return TaskOut.model_validate(run.accepted)


@router.get("", response_model=list[TaskOut])
async def list_tasks(principal: CurrentPrincipal, services: ServicesDep) -> Any:
    """The caller's tasks, newest first."""
    return await services.tasks.list(principal)


@router.get("/{task_id}", response_model=TaskDetailOut)
async def get_task(task_id: str, principal: CurrentPrincipal, services: ServicesDep) -> Any:
    return _detail_out(await services.tasks.get(principal, task_id))


@router.get("/{task_id}/events", responses={200: _EVENT_STREAM})
async def follow_task(
    task_id: str, request: Request, principal: CurrentPrincipal, services: ServicesDep
) -> Response:
    """The task's events from its start: live while it runs, else its stored step log."""
    run = await services.tasks.follow(principal, task_id)
    if run is not None:
        return EventStreamResponse(_run_frames(run, request))
    detail = await services.tasks.get(principal, task_id)
    return EventStreamResponse(_stored_frames(detail))


@router.get(
    "/{task_id}/files/{path:path}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download_task_file(
    task_id: str, path: str, principal: CurrentPrincipal, services: ServicesDep
) -> Response:
    """One file of the task's result, by its path in the workdir."""
    content = await services.tasks.file(principal, task_id, path)
    record = content.record
    headers = {
        "Content-Disposition": content_disposition(record.path.rsplit("/", 1)[-1]),
        "Content-Length": str(record.size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return StreamingResponse(content.chunks, media_type=record.media_type, headers=headers)


@router.get(
    "/{task_id}/result.zip",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
async def download_task_zip(
    task_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Response:
    """Every file of the task's result in one zip archive."""
    chunks = await services.tasks.result_zip(principal, task_id)
    headers = {"Content-Disposition": content_disposition(f"task-{task_id}.zip")}
    return StreamingResponse(chunks, media_type="application/zip", headers=headers)


@router.post("/{task_id}/confirmations/{confirmation_id}", status_code=204)
async def answer_confirmation(
    task_id: str,
    confirmation_id: str,
    body: ConfirmationAnswer,
    principal: CurrentPrincipal,
    services: ServicesDep,
) -> Response:
    """Allow or refuse the bash command a `confirm` event asked about."""
    await services.tasks.answer(
        principal, task_id, confirmation_id, allowed=body.allow, reason=body.reason
    )
    return Response(status_code=204)


@router.post("/{task_id}/cancel", response_model=CancelOut)
async def cancel_task(task_id: str, principal: CurrentPrincipal, services: ServicesDep) -> Any:
    """Stop a running task: its command is killed; what it made so far is its result."""
    return CancelOut(cancelled=await services.tasks.cancel(principal, task_id))


def _detail_out(detail: TaskDetail) -> TaskDetailOut:
    return TaskDetailOut(
        **TaskOut.model_validate(detail.task).model_dump(),
        files=[TaskFileOut.model_validate(record) for record in detail.files],
        steps=[TaskStepOut.model_validate(step) for step in detail.steps],
    )


async def _task_request(request: Request, principal: Principal, services: Services) -> TaskRequest:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await _form_request(request)
    try:
        body = TaskCreate.model_validate_json(await request.body())
    except ValueError as exc:
        raise ValidationError(f"not a valid task: {exc}") from None
    inputs = []
    for file_id in body.file_ids:
        content = await services.files.open_content(principal, file_id)
        data = b"".join([chunk async for chunk in content.chunks])
        inputs.append(TaskInput(content.record.name, data))
    values = body.model_dump(exclude={"file_ids"})
    return TaskRequest(inputs=inputs, **values)


async def _form_request(request: Request) -> TaskRequest:
    form = await request.form(max_files=100, max_fields=len(_FORM_FIELDS))
    try:
        unknown = set(form.keys()) - _FORM_FIELDS - {"files"}
        if unknown:
            raise ValidationError(f"unknown form field(s): {', '.join(sorted(unknown))}")
        fields: dict[str, Any] = {}
        for name in _FORM_FIELDS:
            value = form.get(name)
            if isinstance(value, str) and value != "":
                fields[name] = value
        inputs = []
        for part in form.getlist("files"):
            if not isinstance(part, UploadFile) or not part.filename:
                raise ValidationError("each `files` part must be a file with a name", field="files")
            inputs.append(TaskInput(part.filename, await part.read()))
        try:
            body = TaskCreate.model_validate(fields)
        except ValueError as exc:
            raise ValidationError(f"not a valid task: {exc}") from None
        return TaskRequest(inputs=inputs, **body.model_dump(exclude={"file_ids"}))
    finally:
        await form.close()


def _frame(event_type: str, payload: dict[str, Any]) -> bytes:
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"event: {event_type}\ndata: {data}\n\n".encode()


async def _run_frames(run: TaskRun, request: Request) -> AsyncIterator[bytes]:
    index = 0
    while True:
        try:
            event = await run.next_event(index, KEEPALIVE_S)
        except TimeoutError:
            if await request.is_disconnected():
                return
            yield KEEPALIVE
            continue
        if event is None:
            return
        index += 1
        yield _frame(event.type, event_payload(event))


async def _stored_frames(detail: TaskDetail) -> AsyncIterator[bytes]:
    for step in detail.steps:
        yield _frame(step.kind, step.data)
