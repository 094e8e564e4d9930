"""envd's `filesystem.Filesystem` service (Connect, JSON): stat, list, make directories,
move and remove, all inside the sandbox's workdir (`/home/user` to the client)."""

from __future__ import annotations

import posixpath
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox_analyst.api.e2b.connect_wire import (
    ConnectError,
    as_connect_error,
    error_response,
    unary_request,
)
from sandbox_analyst.api.e2b.deps import RunningSandbox
from sandbox_analyst.api.e2b.paths import to_e2b, to_workdir
from sandbox_analyst.sandbox import EntryInfo, FileAccessError, SandboxFiles

router = APIRouter(prefix="/filesystem.Filesystem")

_USER = "user"


def entry_json(entry: EntryInfo) -> dict[str, Any]:
    return {
        "name": entry.name,
        "type": "FILE_TYPE_DIRECTORY" if entry.is_dir else "FILE_TYPE_FILE",
        "path": to_e2b(entry.path),
        "size": str(entry.size),
        "mode": 0o755 if entry.is_dir else 0o644,
        "permissions": "drwxr-xr-x" if entry.is_dir else "-rw-r--r--",
        "owner": _USER,
        "group": _USER,
        "modifiedTime": entry.modified.isoformat().replace("+00:00", "Z"),
    }


async def _call(
    request: Request, handler: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
) -> Response:
    try:
        return JSONResponse(await handler(await unary_request(request)))
    except Exception as exc:
        error = as_connect_error(exc)
        if error is None:
            raise
        return error_response(error.code, error.message)


async def stat(files: SandboxFiles, relative: str) -> EntryInfo:
    if not relative:
        return EntryInfo("user", "", True, 0, datetime.now(UTC))
    parent, name = posixpath.split(relative)
    try:
        entries = await files.list(parent)
    except FileAccessError:
        entries = []
    for entry in entries:
        if entry.name == name:
            return entry
    raise ConnectError("not_found", f"path '{to_e2b(relative)}' does not exist")


@router.post("/Stat")
async def stat_call(request: Request, live: RunningSandbox) -> Response:
    async def handle(message: dict[str, Any]) -> dict[str, Any]:
        entry = await stat(live.session.files, to_workdir(message.get("path")))
        return {"entry": entry_json(entry)}

    return await _call(request, handle)


@router.post("/ListDir")
async def list_dir(request: Request, live: RunningSandbox) -> Response:
    async def handle(message: dict[str, Any]) -> dict[str, Any]:
        relative = to_workdir(message.get("path"))
        depth = int(message.get("depth") or 1)
        if not (await stat(live.session.files, relative)).is_dir:
            raise ConnectError("invalid_argument", f"path '{to_e2b(relative)}' is not a directory")
        entries = await live.session.files.list(relative, recursive=depth > 1)
        base = relative.count("/") + 1 if relative else 0
        kept = [entry for entry in entries if entry.path.count("/") - base < depth]
        return {"entries": [entry_json(entry) for entry in kept]}

    return await _call(request, handle)


@router.post("/MakeDir")
async def make_dir(request: Request, live: RunningSandbox) -> Response:
    async def handle(message: dict[str, Any]) -> dict[str, Any]:
        relative = to_workdir(message.get("path"))
        if not relative or not await live.session.files.make_dir(relative):
            raise ConnectError("already_exists", f"directory '{to_e2b(relative)}' exists")
        return {"entry": entry_json(await stat(live.session.files, relative))}

    return await _call(request, handle)


@router.post("/Move")
async def move(request: Request, live: RunningSandbox) -> Response:
    async def handle(message: dict[str, Any]) -> dict[str, Any]:
        source = to_workdir(message.get("source"))
        destination = to_workdir(message.get("destination"))
        if not source or not destination:
            raise ConnectError("invalid_argument", "the home directory itself cannot be moved")
        if not await live.session.files.exists(source):
            raise ConnectError("not_found", f"path '{to_e2b(source)}' does not exist")
        entry = await live.session.files.move(source, destination)
        return {"entry": entry_json(entry)}

    return await _call(request, handle)


@router.post("/Remove")
async def remove(request: Request, live: RunningSandbox) -> Response:
    async def handle(message: dict[str, Any]) -> dict[str, Any]:
        relative = to_workdir(message.get("path"))
        if not relative:
            raise ConnectError("invalid_argument", "the home directory itself cannot be removed")
        if not await live.session.files.exists(relative):
            raise ConnectError("not_found", f"path '{to_e2b(relative)}' does not exist")
        await live.session.files.remove(relative)
        return {}

    return await _call(request, handle)


@router.post("/{method}")
async def not_offered(method: str, live: RunningSandbox) -> Response:
    return error_response("unimplemented", f"filesystem.Filesystem/{method} is not offered here")
