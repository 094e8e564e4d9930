"""The one mapping from errors to responses for the `/v1` front end, in OpenAI's shape:
`{"error": {"message", "type", "param", "code"}}`, so that OpenAI clients raise their usual
exceptions (`AuthenticationError`, `NotFoundError`...).

FastAPI's exception handlers are application-wide, and `/api` answers in its own shape
(`api/errors.py`); so the `/v1` routes use a route class, `OpenAIRoute`, that catches what
their handlers raise and answers here, before the application's handlers see it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox_analyst.config import ConfigError
from sandbox_analyst.llm import LLMError, LLMRateLimitError
from sandbox_analyst.sandbox import SandboxError, TooManySessionsError
from sandbox_analyst.service.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    StorageFull,
    Unauthorized,
    UnsupportedMediaType,
)
from sandbox_analyst.store import BlobStoreUnavailable, StorageFullError

logger = logging.getLogger(__name__)

_STATUS_BY_SERVICE_ERROR: dict[type[ServiceError], int] = {
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    StorageFull: 507,
    UnsupportedMediaType: 415,
}
# Our service error codes where OpenAI has a code of its own for the same thing.
_OPENAI_CODES = {"unauthorized": "invalid_api_key"}


class OpenAIError(Exception):
    """An error to answer as OpenAI would. `headers`: extra response headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}

    @property
    def type(self) -> str:
        if self.status == 429:
            return "rate_limit_error"
        return "server_error" if self.status >= 500 else "invalid_request_error"

    def response(self) -> JSONResponse:
        body = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        return JSONResponse({"error": body}, status_code=self.status, headers=self.headers)


def model_not_found(model: str) -> OpenAIError:
    return OpenAIError(
        404,
        f"The model `{model}` does not exist or you do not have access to it; "
        "GET /v1/models lists the models you may use.",
        code="model_not_found",
        param="model",
    )


def as_openai_error(exc: Exception) -> OpenAIError:
    """What `exc` is answered as."""
    if isinstance(exc, OpenAIError):
        return exc
    if isinstance(exc, RequestValidationError):
        return _invalid_body(exc)
    if isinstance(exc, ServiceError):
        status = next((s for t, s in _STATUS_BY_SERVICE_ERROR.items() if isinstance(exc, t)), 400)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        if status == 409:
            # OpenAI's SDKs retry 409 on their own; the running turn may take minutes.
            headers["x-should-retry"] = "false"
        code = _OPENAI_CODES.get(exc.code, exc.code)
        return OpenAIError(status, exc.message, code=code, param=exc.field, headers=headers)
    if isinstance(exc, StorageFullError | BlobStoreUnavailable):
        return OpenAIError(exc.http_status, str(exc), code=exc.code)
    if isinstance(exc, SandboxError):
        if isinstance(exc, TooManySessionsError):
            return OpenAIError(
                exc.http_status, f"the sandbox cannot take this now: {exc}", code=exc.code
            )
        return OpenAIError(503, f"the sandbox cannot take this now: {exc}", code="sandbox_error")
    if isinstance(exc, LLMError):
        # The model behind us failed: never 401/404, which would blame the caller's key/model.
        status = 429 if isinstance(exc, LLMRateLimitError) else 502
        return OpenAIError(status, str(exc), code="upstream_error")
    if isinstance(exc, ConfigError):
        return OpenAIError(503, f"the server's model is not configured: {exc}", code="config")
    if isinstance(exc, StarletteHTTPException):
        code = getattr(exc, "code", None) or "http_error"
        return OpenAIError(
            exc.status_code, str(exc.detail), code=code, headers=dict(exc.headers or {})
        )
    logger.exception("unhandled error in the OpenAI-compatible API", exc_info=exc)
    return OpenAIError(500, "internal server error", code="internal_error")


def _invalid_body(exc: RequestValidationError) -> OpenAIError:
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    if first.get("type") == "json_invalid":
        return OpenAIError(400, "the request body is not valid JSON", code="invalid_json")
    parts = [str(p) for p in first.get("loc", ())]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    param = ".".join(parts) or None
    message = f"{param}: {first.get('msg')}" if param else str(first.get("msg"))
    return OpenAIError(400, message, code="invalid_value", param=param)


class OpenAIRoute(APIRoute):
    """A route whose errors, whatever raised them (validation, authentication, the
    services), are answered by `as_openai_error`."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                return as_openai_error(exc).response()

        return handle
