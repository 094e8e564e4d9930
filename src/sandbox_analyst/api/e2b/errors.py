"""Errors in E2B's shapes, from one table.

The control plane and envd answer `{"code": <HTTP status>, "message": "..."}` (E2B's Python
SDK reads both keys). A request for a sandbox that is not running gets what E2B's edge proxy
answers: 502 with `{"sandboxId", "message": "The sandbox was not found", "code": 502}`, which
both SDKs report as a sandbox that timed out or was killed.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox_analyst.sandbox import (
    FileAccessError,
    PathEscapeError,
    SandboxClosedError,
    SandboxError,
    SandboxStartError,
    TooManySessionsError,
)
from sandbox_analyst.service import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    Unauthorized,
    ValidationError,
)

logger = logging.getLogger(__name__)

_SERVICE_STATUS: tuple[tuple[type[ServiceError], int], ...] = (
    (NotFound, 404),
    (Unauthorized, 401),
    (Forbidden, 403),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (ValidationError, 400),
)
_SANDBOX_STATUS: tuple[tuple[type[SandboxError], int], ...] = (
    (PathEscapeError, 400),
    (FileAccessError, 404),
    (TooManySessionsError, 429),
    (SandboxStartError, 503),
    (SandboxClosedError, 502),
)


class SandboxGone(Exception):
    """A data-plane request for a sandbox that is not running (or never was)."""

    def __init__(self, sandbox_id: str) -> None:
        super().__init__(sandbox_id)
        self.sandbox_id = sandbox_id


def status_of(exc: Exception) -> int:
    """The HTTP status E2B would answer `exc` with."""
    declared = getattr(exc, "http_status", None)
    if isinstance(exc, ServiceError | SandboxError) and isinstance(declared, int):
        return declared
    for table in (_SERVICE_STATUS, _SANDBOX_STATUS):
        for kind, status in table:
            if isinstance(exc, kind):
                return status
    return 500


def message_of(exc: Exception) -> str:
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


def e2b_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": status, "message": message}, status_code=status)


def sandbox_gone(sandbox_id: str) -> JSONResponse:
    body = {"sandboxId": sandbox_id, "message": "The sandbox was not found", "code": 502}
    return JSONResponse(body, status_code=502)


def install_e2b_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SandboxGone)
    async def _gone(request: Request, exc: SandboxGone) -> JSONResponse:
        return sandbox_gone(exc.sandbox_id)

    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> JSONResponse:
        return e2b_error(status_of(exc), exc.message)

    @app.exception_handler(SandboxError)
    async def _sandbox(request: Request, exc: SandboxError) -> JSONResponse:
        return e2b_error(status_of(exc), message_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'] if part != 'body')}: {error['msg']}"
            for error in exc.errors()
        )
        return e2b_error(400, f"invalid request: {problems}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return e2b_error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("E2B request %s %s failed", request.method, request.url.path)
        return e2b_error(500, "internal server error")
