"""Errors as the `/v1` front end answers them, in OpenAI's shape:
`{"error": {"message", "type", "param", "code"}}`, so that OpenAI clients raise their usual
exceptions (`AuthenticationError`, `NotFoundError`...). The code and status of our own errors
come from their classes (`service.public_error`), as for `/api`.

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

from sandbox_analyst.service import public_error

logger = logging.getLogger(__name__)

# Our error codes where OpenAI has a code of its own for the same thing.
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
    error = public_error(exc)
    if error is not None:
        # OpenAI answers every invalid request with 400; it has no 422.
        status = 400 if error.http_status == 422 else error.http_status
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        headers.update(error.retry_after())
        if status == 409 or error.code == "quota_exceeded":
            # OpenAI's SDKs retry 409 and 429 on their own; the running turn may take
            # minutes, and a quota resets at midnight at the soonest.
            headers["x-should-retry"] = "false"
        code = _OPENAI_CODES.get(error.code, error.code)
        return OpenAIError(status, error.message, code=code, param=error.field, headers=headers)
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
