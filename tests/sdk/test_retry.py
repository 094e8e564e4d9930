"""Starting a sandbox: a temporary failure is retried with backoff, a permanent one raises at
once. Here with the local pool's real session limit (`ANALYST_SANDBOX__MAX_SESSIONS`, set to
3 for these tests) and a template the server does not have."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
import pytest_asyncio

from sandbox_analyst import RetryPolicy, SandboxManager
from sandbox_analyst.sandbox import TooManySessionsError
from sandbox_analyst.sandbox.templates import TemplateNotFoundError
from sandbox_analyst.sdk import SandboxStartRefusedError, SandboxStartRetriesExhaustedError
from tests.sdk.conftest import MAX_SESSIONS

pytestmark = pytest.mark.asyncio(loop_scope="session")
QUICK = RetryPolicy(attempts=4, initial_delay=0.01, max_delay=0.05)


@pytest_asyncio.fixture(loop_scope="session")
async def all_but_one(resident: SandboxManager) -> AsyncIterator[list[SandboxManager]]:
    """Managers holding every session the limit allows but one (the resident holds one)."""
    async with AsyncExitStack() as stack:
        held = [await stack.enter_async_context(SandboxManager()) for _ in range(MAX_SESSIONS - 2)]
        yield held


async def test_a_full_server_is_retried_until_the_attempts_run_out(
    all_but_one: list[SandboxManager],
) -> None:
    async with SandboxManager():  # the last session
        late = SandboxManager(retry=QUICK)
        with pytest.raises(SandboxStartRetriesExhaustedError, match="in 4 attempts") as raised:
            await late.start()
    assert raised.value.attempts == 4
    assert isinstance(raised.value.__cause__, TooManySessionsError)
    assert not late.started


async def test_a_retried_start_succeeds_once_a_session_is_free(
    all_but_one: list[SandboxManager], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sandbox_analyst.sdk.manager")
    last = await SandboxManager().start()
    late = SandboxManager(retry=RetryPolicy(attempts=50, initial_delay=0.05, max_delay=0.2))
    starting = asyncio.create_task(late.start())
    while not any("trying again" in record.getMessage() for record in caplog.records):
        assert not starting.done()
        await asyncio.sleep(0.01)
    await last.close()
    try:
        await asyncio.wait_for(starting, 20)
        assert late.started
        assert (await late.execute_code("python", "6 * 7")).text == "42"
    finally:
        await late.close()


async def test_an_unknown_template_is_refused_at_once(resident: SandboxManager) -> None:
    sm = SandboxManager(template="no-such-template", retry=QUICK)
    with pytest.raises(SandboxStartRefusedError, match="no-such-template") as raised:
        await sm.start()
    assert raised.value.attempts == 1
    assert isinstance(raised.value.__cause__, TemplateNotFoundError)
    # The shared pool is untouched by the failed start.
    assert (await resident.execute_code("python", "1 + 1")).text == "2"
