"""Failures of a model call, named by provider, model and endpoint, with a human cause."""

from __future__ import annotations


class LLMError(Exception):
    """A model call failed. `retryable` says whether trying again later may succeed. A front
    end answers it as the upstream's failure (`http_status` 502), never as 401 or 404, which
    would blame the caller's own key or model."""

    code = "upstream_error"
    http_status = 502
    retryable = False

    def __init__(
        self,
        *,
        provider: str,
        model: str,
        base_url: str | None,
        cause: str,
        status_code: int | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        where = f" at {base_url}" if base_url else ""
        super().__init__(f"{provider} model '{model}'{where}: {cause}")
        self.provider = provider
        self.model = model
        self.base_url = base_url
        self.cause = cause
        self.status_code = status_code
        if retryable is not None:
            self.retryable = retryable
        self.retry_after = retry_after  # seconds the server asked us to wait, if it did


class LLMAuthError(LLMError):
    """The API key is missing, wrong, or lacks permission."""


class LLMModelNotFoundError(LLMError):
    """The endpoint does not know the model (or the deployment, on Azure)."""


class LLMUnavailableError(LLMError):
    """The server could not be reached, timed out, or failed on its side (5xx)."""

    retryable = True


def stream_truncated(provider: str, model: str, base_url: str | None) -> LLMUnavailableError:
    # A dropped connection can look like the normal end of a stream; only the missing stop
    # reason tells it from a complete answer.
    return LLMUnavailableError(
        provider=provider,
        model=model,
        base_url=base_url,
        cause="the response stream ended before the model finished",
    )


class LLMRateLimitError(LLMError):
    """The server said 429: too many requests or tokens for now."""

    http_status = 429
    retryable = True


class LLMBadRequestError(LLMError):
    """The server refused the request itself (400/413/422): bad parameters, context too long..."""


def error_for_status(
    status: int,
    message: str,
    *,
    provider: str,
    model: str,
    base_url: str | None,
    retry_after: float | None = None,
) -> LLMError:
    """The specific error for an HTTP error status, with the server's own message as detail."""
    context = {"provider": provider, "model": model, "base_url": base_url}
    detail = f" ({status}): {message}" if message else f" ({status})"
    if status in (401, 403):
        reason = "authentication failed" if status == 401 else "permission denied"
        return LLMAuthError(cause=reason + detail, status_code=status, **context)
    if status == 404:
        return LLMModelNotFoundError(
            cause="model not found" + detail, status_code=status, **context
        )
    if status == 429:
        return LLMRateLimitError(
            cause="rate limited" + detail, status_code=status, retry_after=retry_after, **context
        )
    if status in (408, 409) or status >= 500:
        return LLMUnavailableError(
            cause="server error" + detail, status_code=status, retry_after=retry_after, **context
        )
    if status in (400, 413, 422):
        return LLMBadRequestError(cause="bad request" + detail, status_code=status, **context)
    return LLMError(cause="request failed" + detail, status_code=status, **context)
