"""Errors as JSON responses: `{"error": {"code": "...", "message": "...", "field": "..."}}`.
The code and status of our own errors come from their classes (`service.public_error`), and
so do the facts some add to the body (a quota's name, limit and reset time) and when trying
again can succeed (`Retry-After`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox_analyst.api.schemas import ErrorBody
from sandbox_analyst.service import PUBLIC_ERROR_TYPES, public_error

logger = logging.getLogger(__name__)

__all__ = ["ErrorBody", "error_response", "install_error_handlers"]

# FastAPI's and Starlette's own errors (a route that does not exist, a wrong method...).
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


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
    details: Mapping[str, object] | None = None,
) -> JSONResponse:
    body: dict[str, object] = {"code": code, "message": message}
    if field:
        body["field"] = field
    body.update(details or {})
    headers = {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


async def _public_error(request: Request, exc: Exception) -> JSONResponse:
    error = public_error(exc)
    if error is None:  # an error family whose class forgot its code: a bug
        return await _unexpected_error(request, exc)
    if error.http_status >= 500:
        logger.warning(
            "%s %s answered %d: %s",
            request.method,
            request.url.path,
            error.http_status,
            error.message,
        )
    return error_response(
        error.http_status,
        error.code,
        error.message,
        field=error.field,
        headers=error.retry_after(),
        details=error.details,
    )


def _location(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


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
    for error_type in PUBLIC_ERROR_TYPES:
        app.add_exception_handler(error_type, _public_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
