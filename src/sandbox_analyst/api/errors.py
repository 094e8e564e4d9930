"""The one mapping from errors to JSON responses:
`{"error": {"code": "...", "message": "...", "field": "..."}}` with a stable `code`."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox_analyst.api.schemas import ErrorBody
from sandbox_analyst.sandbox import (
    SandboxClosedError,
    SandboxError,
    SandboxStartError,
    TooManySessionsError,
)
from sandbox_analyst.service.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    StorageFull,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
)
from sandbox_analyst.store import BlobStoreUnavailable, StorageFullError

logger = logging.getLogger(__name__)

__all__ = ["ErrorBody", "error_response", "install_error_handlers"]

STATUS_BY_ERROR: dict[type[ServiceError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Unauthorized: 401,
    Conflict: 409,
    PayloadTooLarge: 413,
    StorageFull: 507,
    UnsupportedMediaType: 415,
    ValidationError: 422,
}
_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    507: "storage_full",
}
# The execution engine cannot take the work now: 503 (429 for the session caps), with what the
# operator can do.
SANDBOX_ERROR_CODES: dict[type[SandboxError], str] = {
    TooManySessionsError: "too_many_sessions",
    SandboxStartError: "sandbox_unavailable",
    SandboxClosedError: "sandbox_unavailable",
}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, object] = {"code": code, "message": message}
    if field:
        body["field"] = field
    headers = {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    status = next((s for t, s in STATUS_BY_ERROR.items() if isinstance(exc, t)), 400)
    return error_response(status, exc.code, exc.message, field=exc.field)


async def _sandbox_error(_request: Request, exc: Exception) -> JSONResponse:
    code = next((c for t, c in SANDBOX_ERROR_CODES.items() if isinstance(exc, t)), None)
    if code is None:
        logger.error("sandbox failure: %s", exc)
        return error_response(503, "sandbox_error", f"the sandbox failed: {exc}")
    # Errors that carry their own code and status (session caps: 429) answer with them.
    return error_response(getattr(exc, "http_status", 503), getattr(exc, "code", code), str(exc))


def _location(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _storage_full(_request: Request, exc: Exception) -> JSONResponse:
    # Any write the services did not turn into their own StorageFull (e.g. a database row).
    logger.error("storage full: %s", exc)
    return error_response(StorageFullError.http_status, StorageFullError.code, str(exc))


async def _storage_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    logger.error("%s", exc)
    status, code = BlobStoreUnavailable.http_status, BlobStoreUnavailable.code
    return error_response(status, code, str(exc))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    if first.get("type") == "json_invalid":
        return error_response(400, "malformed_json", "the request body is not valid JSON")
    field = _location(tuple(first.get("loc", ())))
    message = f"{field}: {first.get('msg', 'invalid value')}"
    return error_response(422, "validation_error", message, field=field)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    # Ours (e.g. a body over its limit) carry a code; Starlette's own get one by status.
    code = getattr(exc, "code", None) or _CODE_BY_STATUS.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error in %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(SandboxError, _sandbox_error)
    app.add_exception_handler(StorageFullError, _storage_full)
    app.add_exception_handler(BlobStoreUnavailable, _storage_unavailable)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
