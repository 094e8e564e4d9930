"""envd's HTTP side (port 49983): file downloads and uploads, and the health check both
services answer."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.responses import StreamingResponse

from sandbox_analyst.api.e2b.deps import FileSandbox, services, target
from sandbox_analyst.api.e2b.errors import e2b_error, sandbox_gone
from sandbox_analyst.api.e2b.paths import to_e2b, to_workdir
from sandbox_analyst.api.e2b.routing import INTERPRETER_PORT, sandbox_target
from sandbox_analyst.api.e2b.uploads import UploadError, file_parts, is_multipart
from sandbox_analyst.sandbox import FileAccessError

router = APIRouter()
_INFLATE_PIECE = 1 << 20


@router.get("/health")
async def health(request: Request) -> Response:
    found = sandbox_target(request)
    if found is None:
        return Response(status_code=204)  # the server itself
    if not services(request).e2b.is_running(found.sandbox_id):
        return sandbox_gone(found.sandbox_id)
    if found.port == INTERPRETER_PORT:
        return Response('"OK"', media_type="application/json")
    return Response(status_code=204)


@router.get("/files")
async def download(live: FileSandbox, path: str | None = None) -> Response:
    relative = to_workdir(path)
    if not relative:
        return e2b_error(400, f"path '{to_e2b(relative)}' is a directory")
    chunks = live.session.files.read(relative)
    try:
        first = await anext(chunks, b"")
    except FileAccessError:
        return e2b_error(404, f"path '{to_e2b(relative)}' does not exist or is not a file")
    return StreamingResponse(_then(first, chunks), media_type="application/octet-stream")


async def _then(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


@router.post("/files")
async def upload(
    request: Request, live: FileSandbox, path: str | None = None
) -> list[dict[str, Any]]:
    """multipart: one or more `file` parts, each written to `path` (one part) or to its own
    file name (several; the SDKs send the path there); octet-stream: the body, to `path`."""
    target(request)
    written = []
    if is_multipart(request):
        async for part in file_parts(request):
            name = path if path and not written else part.filename
            if not name:
                raise UploadError("a file part has no path: give ?path= or a file name")
            written.append(await _write(live, name, part.chunks))
    else:
        if not path:
            raise UploadError("an application/octet-stream upload needs ?path=")
        written.append(await _write(live, path, _body(request)))
    if not written:
        raise UploadError("no part named `file` in the upload")
    return written


async def _write(live: Any, name: str, chunks: AsyncIterator[bytes]) -> dict[str, Any]:
    relative = to_workdir(name)
    entry = await live.session.files.write(relative, chunks)
    return {"name": entry.name, "type": "file", "path": to_e2b(entry.path)}


async def _body(request: Request) -> AsyncIterator[bytes]:
    if request.headers.get("content-encoding", "").lower() != "gzip":
        async for chunk in request.stream():
            yield chunk
        return
    # Inflated a bounded piece at a time: a small bomb must not become a huge buffer.
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        async for chunk in request.stream():
            data = chunk
            while data:
                yield inflate.decompress(data, _INFLATE_PIECE)
                data = inflate.unconsumed_tail
        yield inflate.flush()
    except zlib.error as exc:
        raise UploadError(f"the gzip body is corrupt: {exc}") from None
