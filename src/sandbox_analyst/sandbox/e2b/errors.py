"""What the E2B SDK's failures mean for a session: every exception the SDK (or the HTTP client
under it) raises becomes one of the sandbox layer's errors, with the setting to check."""

from __future__ import annotations

import httpx
from e2b import (
    AuthenticationException,
    InvalidArgumentException,
    NotFoundException,
    RateLimitException,
    SandboxException,
    SandboxNotRunningException,
    TimeoutException,
)

from sandbox_analyst.sandbox.errors import (
    SandboxError,
    SandboxNotFoundError,
    SandboxStartError,
    SandboxUsageError,
)


class E2BError(SandboxError):
    """E2B failed a request or could not be reached."""

    code = "e2b_unavailable"
    http_status = 503


class E2BAuthError(E2BError, SandboxStartError):
    """E2B refused the API key: a configuration error, not worth retrying."""

    code = "e2b_auth_failed"


class E2BSandboxGone(E2BError):
    """The E2B sandbox is no longer running (killed, or past its timeout)."""

    code = "e2b_sandbox_gone"


API_KEY_HINT = "set sandbox.e2b.api_key (ANALYST_SANDBOX__E2B__API_KEY) or E2B_API_KEY"


def translate(exc: BaseException, doing: str) -> SandboxError:
    """The sandbox-layer error for `exc`, raised while `doing` (e.g. "create a sandbox")."""
    if isinstance(exc, SandboxError):
        return exc
    if isinstance(exc, AuthenticationException):
        return E2BAuthError(
            f"E2B refused the API key while trying to {doing}: {exc}; {API_KEY_HINT}"
        )
    if isinstance(exc, SandboxNotRunningException):
        return E2BSandboxGone(f"the E2B sandbox is no longer running ({exc})")
    if isinstance(exc, NotFoundException):
        return SandboxNotFoundError(f"E2B does not know it ({doing}): {exc}")
    if isinstance(exc, InvalidArgumentException):
        return SandboxUsageError(f"E2B refused the arguments to {doing}: {exc}")
    if isinstance(exc, RateLimitException):
        return E2BError(f"E2B's rate limit stopped the request to {doing}: {exc}")
    if isinstance(exc, TimeoutException | httpx.TimeoutException):
        return E2BError(f"E2B did not answer in time while trying to {doing} ({exc})")
    if isinstance(exc, httpx.HTTPError):
        return E2BError(f"cannot reach E2B to {doing}: {exc!r}")
    if isinstance(exc, SandboxException):
        return E2BError(f"E2B could not {doing}: {exc}")
    return E2BError(f"E2B could not {doing}: {type(exc).__name__}: {exc}")


def is_sdk_error(exc: BaseException) -> bool:
    """Whether `exc` is one `translate` knows to be E2B's or its transport's doing."""
    return isinstance(exc, SandboxException | AuthenticationException | httpx.HTTPError)
