"""`/api/files`: upload (streamed, size-limited, sniffed), list, metadata, download, delete,
attach to a conversation, and signed links for clients that cannot send our header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse

from sandbox_analyst.api.auth import CurrentPrincipal, OptionalPrincipal, ServicesDep
from sandbox_analyst.api.body_limit import BodyKind, body_kind
from sandbox_analyst.api.multipart import UploadStream
from sandbox_analyst.api.schemas import FileAttach, FileOut, SignedLinkOut
from sandbox_analyst.service import (
    FileContent,
    FileKind,
    Unauthorized,
    ValidationError,
    content_disposition,
)

router = APIRouter(prefix="/api/files", tags=["files"])
CONVERSATION_FIELD = "conversation_id"

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "conversation_id": {
                            "type": "string",
                            "maxLength": 64,
                            "description": "Attach the file to this conversation (or give "
                            "it as a query parameter).",
                        },
                    },
                }
            }
        },
    }
}


@router.post("", status_code=201, response_model=FileOut, openapi_extra=_UPLOAD_BODY)
@body_kind(BodyKind.STREAMED)  # streamed to the blob store under `server.max_upload_mb`
async def upload_file(
    request: Request,
    principal: CurrentPrincipal,
    services: ServicesDep,
    conversation_id: Annotated[
        str | None, Query(max_length=64, description="Attach the file to this conversation.")
    ] = None,
) -> object:
    """Upload one file (multipart part `file`). The type is sniffed from the content; the
    size is limited by `server.max_upload_mb` (413, and nothing is kept). The conversation
    may also be named by a form field `conversation_id`; other form fields are refused."""
    upload = UploadStream(request, fields=frozenset({CONVERSATION_FIELD}))
    if conversation_id is None:
        # Known once the body is read: a client may send its fields after the file.
        return await services.files.upload(
            principal,
            upload,
            filename=lambda: upload.filename,
            conversation_id=lambda: upload.field_values.get(CONVERSATION_FIELD),
        )
    # Given up front, the conversation is checked before anything is stored.
    return await services.files.upload(
        principal,
        _agreeing_with(upload, conversation_id),
        filename=lambda: upload.filename,
        conversation_id=conversation_id,
    )


async def _agreeing_with(upload: UploadStream, conversation_id: str) -> AsyncIterator[bytes]:
    """The upload's bytes; fails at the end (so nothing is kept) if its form names another
    conversation than the query parameter."""
    async for chunk in upload:
        yield chunk
    in_form = upload.field_values.get(CONVERSATION_FIELD)
    if in_form is not None and in_form != conversation_id:
        raise ValidationError(
            "conversation_id is given twice, as a query parameter and as a form field, "
            "with different values",
            field=CONVERSATION_FIELD,
        )


@router.get("", response_model=list[FileOut])
async def list_files(
    principal: CurrentPrincipal,
    services: ServicesDep,
    conversation_id: Annotated[str | None, Query(max_length=64)] = None,
    kind: FileKind | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> object:
    return await services.files.list(
        principal, conversation_id=conversation_id, kind=kind, limit=limit, offset=offset
    )


@router.get("/{file_id}", response_model=FileOut)
async def get_file(file_id: str, principal: CurrentPrincipal, services: ServicesDep) -> object:
    return await services.files.get(principal, file_id)


@router.get(
    "/{file_id}/content",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download_file(
    file_id: str,
    principal: OptionalPrincipal,
    services: ServicesDep,
    sig: Annotated[
        str | None, Query(max_length=200, description="Signature from a signed link.")
    ] = None,
) -> Response:
    """The file's bytes. Authenticated with the Bearer header, or with `sig` from
    `POST /api/files/{id}/link` (for <img> tags and chat front ends)."""
    if sig is not None:
        content = await services.files.open_signed_content(file_id, sig)
    elif principal is not None:
        content = await services.files.open_content(principal, file_id)
    else:
        raise Unauthorized("authentication required: send a Bearer API key or a signed link")
    return _content_response(content)


def _content_response(content: FileContent) -> Response:
    record = content.record
    headers = {
        "Content-Disposition": content_disposition(record.name, inline=content.inline),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600",
    }
    if content.path is not None:
        return FileResponse(content.path, media_type=record.media_type, headers=headers)
    return StreamingResponse(content.chunks, media_type=record.media_type, headers=headers)


@router.post("/{file_id}/link", response_model=SignedLinkOut)
async def create_signed_link(
    file_id: str,
    principal: CurrentPrincipal,
    services: ServicesDep,
    ttl_s: Annotated[int, Query(ge=1, le=30 * 24 * 3600)] = 24 * 3600,
) -> object:
    return await services.files.signed_url(principal, file_id, ttl_s=ttl_s)


@router.post("/{file_id}/attach", response_model=FileOut)
async def attach_file(
    file_id: str, body: FileAttach, principal: CurrentPrincipal, services: ServicesDep
) -> object:
    return await services.files.attach(principal, file_id, body.conversation_id)


@router.delete("/{file_id}", status_code=204)
async def delete_file(file_id: str, principal: CurrentPrincipal, services: ServicesDep) -> Response:
    await services.files.delete(principal, file_id)
    return Response(status_code=204)
