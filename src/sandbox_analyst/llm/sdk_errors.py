"""Translates the `openai` and `anthropic` SDK exceptions (which share their shape) into ours."""

from __future__ import annotations

from types import ModuleType

import httpx2

from sandbox_analyst.llm.errors import LLMError, LLMUnavailableError, error_for_status
from sandbox_analyst.llm.retry import parse_retry_after


def server_message(body: object) -> str:
    """The human message inside an error body: `{"error": {"message": ...}}` or similar."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(inner, str):
            return inner
    if isinstance(body, str):
        return body.strip()[:500]
    return ""


def translate_sdk_error(
    exc: Exception,
    sdk: ModuleType,
    *,
    provider: str,
    model: str,
    base_url: str,
    timeout: float,
) -> LLMError | None:
    """Our error for an exception of `sdk` (the `openai` or `anthropic` module); None if `exc`
    is not one of the SDK's."""
    context = {"provider": provider, "model": model, "base_url": base_url}
    if isinstance(exc, sdk.APIStatusError):
        message = server_message(exc.body) or exc.message
        if exc.status_code < 400:  # an `error` event inside a stream that began fine
            return LLMUnavailableError(cause=f"error in the response stream: {message}", **context)
        return error_for_status(
            exc.status_code,
            message,
            retry_after=parse_retry_after(exc.response.headers),
            **context,
        )
    # The anthropic SDK lets transport errors raised while reading a stream through unwrapped.
    if isinstance(exc, sdk.APITimeoutError | httpx2.TimeoutException):
        return LLMUnavailableError(cause=f"no answer within the {timeout:g} s timeout", **context)
    if isinstance(exc, sdk.APIConnectionError | httpx2.TransportError):
        reason = exc.__cause__ or exc
        return LLMUnavailableError(cause=f"server unreachable: {reason}", **context)
    if isinstance(exc, sdk.APIError):
        return LLMError(cause=f"invalid response: {exc.message}", **context)
    return None
