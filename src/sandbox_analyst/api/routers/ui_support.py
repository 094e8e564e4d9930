"""What the browser page needs beyond the resources: `/api/ui/settings` (public: how to sign in,
the upload limit, the version) and `/api/files/{id}/preview` (the first rows of an upload)."""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from sandbox_analyst.api.auth import CurrentPrincipal, ServicesDep
from sandbox_analyst.web.table_preview import HEAD_BYTES, PreviewFormat, preview_head

router = APIRouter(prefix="/api", tags=["ui"])


class UISettingsOut(BaseModel):
    version: str
    single_user: bool = Field(description="No sign-in needed: the server acts as a local admin.")
    max_upload_mb: int = Field(description="Largest upload accepted, in MiB.")
    max_upload_bytes: int


class FilePreviewOut(BaseModel):
    file_id: str
    name: str
    media_type: str
    size: int
    format: PreviewFormat = Field(description="`table`: columns + rows; `text`; `none`.")
    columns: list[str]
    rows: list[list[str]]
    text: str
    truncated: bool = Field(description="The file has more than is shown.")
    note: str


@router.get("/ui/settings", response_model=UISettingsOut)
async def ui_settings(request: Request) -> UISettingsOut:
    """Public: what the page shows before anyone signs in."""
    server = request.app.state.settings.server
    return UISettingsOut(
        version=version("sandbox-analyst"),
        single_user=server.single_user,
        max_upload_mb=server.max_upload_mb,
        max_upload_bytes=server.max_upload_mb * 1024 * 1024,
    )


@router.get("/files/{file_id}/preview", response_model=FilePreviewOut)
async def preview_file(
    file_id: str,
    principal: CurrentPrincipal,
    services: ServicesDep,
    rows: Annotated[int, Query(ge=1, le=100)] = 10,
) -> FilePreviewOut:
    """The first rows of an uploaded CSV, TSV, JSON or text file, read from its first 64 KiB."""
    content = await services.files.open_content(principal, file_id)
    head = b""
    try:
        async for chunk in content.chunks:
            head += chunk
            if len(head) >= HEAD_BYTES:
                break
    finally:
        # Stop reading the blob now rather than when the generator is collected.
        close = getattr(content.chunks, "aclose", None)
        if close is not None:
            await close()
    record = content.record
    preview = preview_head(
        head[:HEAD_BYTES],
        media_type=record.media_type,
        complete=record.size <= HEAD_BYTES,
        rows=rows,
    )
    return FilePreviewOut(
        file_id=record.id,
        name=record.name,
        media_type=record.media_type,
        size=record.size,
        format=preview.format,
        columns=preview.columns,
        rows=preview.rows,
        text=preview.text,
        truncated=preview.truncated,
        note=preview.note,
    )
