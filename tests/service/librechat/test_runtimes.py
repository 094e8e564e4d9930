"""Where LibreChat's code runs: a kept runtime keeps its variables until `keep_s` after its
last call, then ends (its next call starts afresh); a fresh one never keeps anything."""

from __future__ import annotations

import asyncio

import pytest

from sandbox_analyst.sandbox import SessionManager
from sandbox_analyst.service.librechat.runtimes import Runtimes

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_kept_runtime_keeps_variables_and_ends_after_its_while(
    sandbox_sessions: SessionManager,
) -> None:
    runtimes = Runtimes(sandbox_sessions, keep_s=0.01)
    async with runtimes.kept("owner-1", "conversation") as runtime:
        assert runtime.reused is False
        await runtime.sandbox.run_code("x = 1")
        first_id = runtime.runtime_id
    # Each call pushes the end back by keep_s; once a call comes later than that, it is new.
    for _ in range(200):
        await asyncio.sleep(0.05)
        async with runtimes.kept("owner-1", "conversation") as runtime:
            if not runtime.reused:
                lost = await runtime.sandbox.run_code("x")
                break
    else:
        pytest.fail("the kept runtime never ended")
    assert lost.error is not None
    assert lost.error.name == "NameError"
    assert runtime.runtime_id != first_id
    await runtimes.shutdown()


async def test_kept_runtimes_of_other_owners_or_names_are_apart(
    sandbox_sessions: SessionManager,
) -> None:
    runtimes = Runtimes(sandbox_sessions, keep_s=60)
    async with runtimes.kept("owner-1", "a") as runtime:
        await runtime.sandbox.run_code("secret = 'a'")
    for owner, name in (("owner-2", "a"), ("owner-1", "b")):
        async with runtimes.kept(owner, name) as other:
            seen = await other.sandbox.run_code("secret")
            assert seen.error is not None
    async with runtimes.kept("owner-1", "a") as again:
        assert again.reused is True
        assert (await again.sandbox.run_code("secret")).text == "'a'"
    await runtimes.shutdown()
