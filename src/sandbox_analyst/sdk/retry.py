"""When starting a sandbox is tried again, and how long to wait in between.

A start that failed for a reason that passes (a server still starting: connection refused;
every session in use: 429; a 5xx; a worker that could not be forked) is retried with
exponential backoff; one that cannot pass (a wrong API key, an unknown template, a backend
that is not installed) is not, so the caller hears of it at once. Anything not known to be
temporary counts as permanent: retrying a bug only hides it.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from sandbox_analyst.sandbox.errors import (
    BackendUnavailableError,
    IsolationError,
    SandboxStartError,
    SandboxUsageError,
    TooManySessionsError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` starts at most; the first retry after `initial_delay` seconds, each next
    wait `multiplier` times longer, at most `max_delay`, each shortened by up to `jitter`
    (a fraction) so that many clients do not retry in step."""

    attempts: int = 5
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 8.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")
        if self.initial_delay < 0 or self.max_delay < 0 or self.multiplier < 1:
            raise ValueError("RetryPolicy delays must be >= 0 and the multiplier >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy.jitter is a fraction between 0 and 1")

    def delays(self) -> Iterator[float]:
        """The waits between attempts: `attempts - 1` of them."""
        delay = self.initial_delay
        for _ in range(self.attempts - 1):
            bounded = min(delay, self.max_delay)
            yield bounded * (1 - self.jitter * random.random())
            delay *= self.multiplier


# Answers that say the request itself is wrong: bad credentials, no such template, invalid.
_REFUSED = frozenset({400, 401, 403, 404, 405, 409, 413, 422})


def is_transient(error: BaseException) -> bool:
    """Whether a failed start may succeed if tried again."""
    if isinstance(error, SandboxUsageError | BackendUnavailableError | IsolationError):
        return False
    status = _http_status(error)
    if status in _REFUSED or _credentials_refused(error):
        return False
    if isinstance(error, TooManySessionsError | SandboxStartError):
        return True
    # Connection refused or reset, a name that does not resolve yet, a timeout.
    if isinstance(error, OSError | TimeoutError | httpx.TransportError):
        return True
    return status is not None and (status == 429 or status >= 500)


def _credentials_refused(error: BaseException) -> bool:
    # Looked up, not imported: the e2b backend (and E2B's SDK under it) is loaded only where
    # it is used, and an error of its kind can only come from a process that loaded it.
    e2b_errors = sys.modules.get("sandbox_analyst.sandbox.e2b.errors")
    return e2b_errors is not None and isinstance(error, e2b_errors.E2BAuthError)


def _http_status(error: BaseException) -> int | None:
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code
    status = getattr(error, "http_status", None)
    return status if isinstance(status, int) else None
