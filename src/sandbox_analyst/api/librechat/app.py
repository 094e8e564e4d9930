"""LibreChat's Code API as an app of its own, mounted at `/librechat/v1` on the main app (same
services, settings and single-user principal), so that its errors come in LibreChat's shapes
rather than the REST API's.

Errors: `{"error": <code>, "message": ...}` with the status LibreChat's tool reads: 401/403
(not authorized), 400/422 (the request is wrong: the model is told to fix its input), 404,
413; a server at its session limit answers 429 `{"error": "rate_limited",
"retry_after_seconds": N}` (the tool waits and retries); an execution profile this server does
not offer, 400 `{"error": "execution_profile_mismatch"}` (the tool gives up for good).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox_analyst.api.librechat import routes
from sandbox_analyst.sandbox import TooManySessionsError
from sandbox_analyst.service import PUBLIC_ERROR_TYPES, public_error

logger = logging.getLogger(__name__)

MOUNT_PATH = "/librechat/v1"
RETRY_AFTER_SECONDS = 5


def create_librechat_app(main: FastAPI) -> FastAPI:
    app = FastAPI(
        title="Sandbox Analyst: LibreChat Code API",
        description="LibreChat's Code Interpreter API (LIBRECHAT_CODE_BASEURL) on our sandboxes.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state = main.state  # the same Services, Settings and local principal
    install_librechat_error_handlers(app)
    app.include_router(routes.router)
    return app


def librechat_error(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    headers = {"Retry-After": str(extra["retry_after_seconds"])} if status == 429 else None
    body = {"error": code, "code": code, "message": message, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def install_librechat_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TooManySessionsError)
    async def _busy(request: Request, exc: TooManySessionsError) -> JSONResponse:
        return librechat_error(
            429, "rate_limited", str(exc), retry_after_seconds=RETRY_AFTER_SECONDS
        )

    async def _public(request: Request, exc: Exception) -> JSONResponse:
        found = public_error(exc)
        if found is None:
            return await _unexpected(request, exc)
        return librechat_error(found.http_status, found.code, found.message)

    for kind in PUBLIC_ERROR_TYPES:
        app.add_exception_handler(kind, _public)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'] if part != 'body')}: {error['msg']}"
            for error in exc.errors()
        )
        return librechat_error(422, "invalid_request", f"invalid request: {problems}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = getattr(exc, "code", None) or "http_error"
        response = librechat_error(exc.status_code, code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error(
            "LibreChat request %s %s failed", request.method, request.url.path, exc_info=exc
        )
        return librechat_error(500, "internal_error", "internal server error")
