"""The endpoints of LibreChat's Code API (`LIBRECHAT_CODE_BASEURL` = `<server>/librechat/v1`),
in the shapes `@librechat/agents` and LibreChat read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from sandbox_analyst.api.body_limit import BodyKind, body_kind
from sandbox_analyst.api.librechat.auth import Caller, ServicesDep
from sandbox_analyst.api.librechat.form import FileForm
from sandbox_analyst.service import ServiceError, ValidationError, content_disposition
from sandbox_analyst.service.librechat import (
    ExecOutcome,
    ExecRequest,
    InputRef,
    StoredFile,
    upload_name,
)

router = APIRouter()
MAX_BATCH_FILES = 50
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp")


class FileRefIn(BaseModel):
    """A file for the working directory: LibreChat's current refs carry `storage_session_id`,
    older ones `session_id`."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(None, max_length=1024)
    storage_session_id: str | None = Field(None, max_length=64)
    session_id: str | None = Field(None, max_length=64)


class ExecBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    lang: str = Field(min_length=1, max_length=32)
    code: str = Field(max_length=1_000_000)
    args: list[Annotated[str, Field(max_length=10_000)]] = Field(default_factory=list)
    files: list[FileRefIn] = Field(default_factory=list)
    session_id: str | None = Field(None, max_length=64)
    runtime_session_hint: str | None = Field(None, max_length=256)


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/exec")
async def execute(
    body: ExecBody,
    caller: Caller,
    services: ServicesDep,
    profile: Annotated[str | None, Header(alias="X-CodeAPI-Expected-Profile")] = None,
) -> dict[str, Any]:
    refs = []
    for ref in body.files:
        session_id = ref.storage_session_id or ref.session_id
        if not session_id:
            raise ValidationError("each file needs its storage_session_id", field="files")
        refs.append(InputRef(session_id, ref.id, ref.name))
    outcome = await services.librechat.execute(
        caller,
        ExecRequest(
            lang=body.lang,
            code=body.code,
            args=body.args,
            files=refs,
            session_id=body.session_id or None,
            runtime_hint=body.runtime_session_hint or None,
            profile=profile,
        ),
    )
    return _exec_response(outcome)


@router.post("/upload")
@body_kind(BodyKind.STREAMED)
async def upload(request: Request, caller: Caller, services: ServicesDep) -> dict[str, Any]:
    form = FileForm(request, max_files=1)
    services.librechat.sweep_if_due()
    files = services.librechat.files
    session_id = await files.new_session(caller)
    stored = []
    async for filename, chunks in form.files():
        stored.append(await files.store(session_id, upload_name(filename), chunks, origin="upload"))
    return {
        "message": "success",
        "session_id": session_id,
        "storage_session_id": session_id,
        "files": [_uploaded(item) for item in stored],
    }


@router.post("/upload/batch")
@body_kind(BodyKind.STREAMED)
async def upload_batch(request: Request, caller: Caller, services: ServicesDep) -> dict[str, Any]:
    """Several files into one new session; a file that cannot be kept is reported with its
    error, and the others are kept."""
    form = FileForm(request, max_files=MAX_BATCH_FILES)
    services.librechat.sweep_if_due()
    files = services.librechat.files
    session_id = await files.new_session(caller)
    results: list[dict[str, Any]] = []
    async for filename, chunks in form.files():
        try:
            stored = await files.store(session_id, upload_name(filename), chunks, origin="upload")
        except ServiceError as exc:
            results.append({"status": "error", "filename": filename or "", "error": exc.message})
        else:
            results.append({"status": "success", **_uploaded(stored)})
    succeeded = sum(1 for item in results if item["status"] == "success")
    return {
        "message": "success" if succeeded == len(results) else "partial",
        "session_id": session_id,
        "storage_session_id": session_id,
        "files": results,
        "succeeded": succeeded,
        "failed": len(results) - succeeded,
    }


@router.get("/files/{session_id}")
async def list_files(
    session_id: str, caller: Caller, services: ServicesDep, detail: str = "summary"
) -> list[dict[str, Any]]:
    """The session's files. `detail=summary` (LibreChat's check before it reuses an upload:
    it looks for `<session>/<file>` among the names and reads `lastModified`), `full` and
    `normalized` add the file's own name, type and hash."""
    if detail not in ("summary", "full", "normalized"):
        raise ValidationError("detail must be summary, full or normalized", field="detail")
    stored = await services.librechat.files.list(caller, session_id)
    return [_listed(item, detail) for item in stored]


@router.get("/sessions/{session_id}/objects/{file_id}")
async def object_info(
    session_id: str, file_id: str, caller: Caller, services: ServicesDep
) -> dict[str, Any]:
    stored = await services.librechat.files.get(caller, session_id, file_id)
    return {"lastModified": _iso(stored.created_at), "size": stored.size, "etag": stored.sha256}


@router.get("/download/{session_id}/{file_id}")
async def download(
    session_id: str, file_id: str, caller: Caller, services: ServicesDep
) -> StreamingResponse:
    files = services.librechat.files
    stored = await files.get(caller, session_id, file_id)
    chunks = files.open(stored)
    # Ask for the first chunk now: a blob that is gone answers an error, not a broken body.
    first = await anext(chunks, b"")
    return StreamingResponse(
        _prepend(first, chunks),
        media_type=_served_type(stored.content_type),
        headers={
            "Content-Length": str(stored.size),
            "Content-Disposition": _disposition(stored.name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )


@router.delete("/files/{session_id}/{file_id}")
async def delete_file(
    session_id: str, file_id: str, caller: Caller, services: ServicesDep
) -> dict[str, str]:
    await services.librechat.files.delete(caller, session_id, file_id)
    return {"message": "success"}


def _exec_response(outcome: ExecOutcome) -> dict[str, Any]:
    response: dict[str, Any] = {
        "session_id": outcome.session_id,
        "stdout": outcome.stdout,
        "stderr": outcome.stderr,
        "files": [
            {
                "id": item.id,
                "name": item.name,
                "path": f"/mnt/data/{item.name}",
                "session_id": item.session_id,
                "storage_session_id": item.session_id,
                "kind": "user",
                "size": item.size,
            }
            for item in outcome.files
        ],
    }
    if outcome.runtime_id is not None:
        response["runtime_session_id"] = outcome.runtime_id
        response["runtime_status"] = outcome.runtime_status
    return response


def _uploaded(stored: StoredFile) -> dict[str, Any]:
    return {"fileId": stored.id, "filename": stored.name, "size": stored.size}


def _listed(stored: StoredFile, detail: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": f"{stored.session_id}/{stored.id}",
        "id": stored.id,
        "lastModified": _iso(stored.created_at),
        "size": stored.size,
        "metadata": {"original-filename": stored.name},
    }
    if detail != "summary":
        item.update(
            filename=stored.name,
            session_id=stored.session_id,
            storage_session_id=stored.session_id,
            contentType=stored.content_type,
            etag=stored.sha256,
            origin=stored.origin,
        )
    return item


def _served_type(content_type: str) -> str:
    # Anything but an image goes out as bytes: nothing of a user's code renders in our origin.
    return content_type if content_type in _IMAGE_TYPES else "application/octet-stream"


def _disposition(name: str) -> str:
    return content_disposition(name.rsplit("/", 1)[-1])


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk
