"""`RetryPolicy` and which start failures are worth another attempt."""

from __future__ import annotations

import httpx
import pytest

from sandbox_analyst import RetryPolicy
from sandbox_analyst.sandbox import (
    BackendUnavailableError,
    SandboxStartError,
    SandboxUsageError,
    TooManySessionsError,
)
from sandbox_analyst.sdk.retry import is_transient


def test_temporary_and_permanent_failures() -> None:
    assert is_transient(TooManySessionsError(3))
    assert is_transient(SandboxStartError("could not fork a worker"))
    assert is_transient(ConnectionRefusedError())
    assert is_transient(httpx.ConnectError("connection refused"))
    request = httpx.Request("POST", "http://127.0.0.1/sandboxes")
    for status, transient in [(429, True), (502, True), (503, True), (401, False), (404, False)]:
        response = httpx.Response(status, request=request)
        error = httpx.HTTPStatusError("failed", request=request, response=response)
        assert is_transient(error) is transient, status
    assert not is_transient(SandboxUsageError("unknown template"))
    assert not is_transient(BackendUnavailableError("the e2b backend is not installed"))
    assert not is_transient(ValueError("a bug"))


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    policy = RetryPolicy(attempts=6, initial_delay=1.0, multiplier=2.0, max_delay=5.0, jitter=0.2)
    delays = list(policy.delays())
    assert len(delays) == 5
    for delay, ceiling in zip(delays, [1.0, 2.0, 4.0, 5.0, 5.0], strict=True):
        assert ceiling * 0.8 <= delay <= ceiling
    assert list(RetryPolicy(attempts=1).delays()) == []
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)


def test_a_refused_e2b_key_is_permanent_other_e2b_failures_are_not() -> None:
    from sandbox_analyst.sandbox.e2b.errors import E2BAuthError, E2BError

    assert not is_transient(E2BAuthError("E2B refused the API key"))
    assert is_transient(E2BError("cannot reach E2B"))
