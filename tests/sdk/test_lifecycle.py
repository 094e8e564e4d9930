"""A manager's sandbox ends when the manager closes: on a normal exit, when the block
raises, when the task is cancelled; a manager that is not started says so."""

from __future__ import annotations

import asyncio

import pytest

from sandbox_analyst import SandboxManager
from sandbox_analyst.sdk import SandboxNotStartedError

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def live_ids(resident: SandboxManager) -> set[str]:
    return {record.sandbox_id for record in await resident.provider.list_sessions()}


async def test_the_sandbox_ends_when_the_block_raises(resident: SandboxManager) -> None:
    seen: list[str] = []

    async def analysis() -> None:
        async with SandboxManager() as sm:
            seen.append(sm.sandbox_id)
            assert sm.sandbox_id in await live_ids(resident)
            raise RuntimeError("analysis failed")

    with pytest.raises(RuntimeError, match="analysis failed"):
        await analysis()
    assert seen
    assert seen[0] not in await live_ids(resident)


async def test_the_sandbox_ends_when_the_task_is_cancelled_mid_execution(
    resident: SandboxManager,
) -> None:
    started = asyncio.Event()
    ids: list[str] = []

    async def analysis() -> None:
        async with SandboxManager() as sm:
            ids.append(sm.sandbox_id)
            await sm.execute_code(
                "python",
                "import time\nprint('running', flush=True)\ntime.sleep(60)",
                on_stdout=lambda _text: started.set(),
            )

    task = asyncio.create_task(analysis())
    await asyncio.wait_for(started.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ids
    assert ids[0] not in await live_ids(resident)


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 5, 8, 13])
async def test_a_start_cancelled_half_way_leaves_no_session(
    resident: SandboxManager, steps: int
) -> None:
    """Cancelled after `steps` turns of the event loop: at different points of the start."""
    before = await live_ids(resident)
    manager = SandboxManager()
    starting = asyncio.create_task(manager.start())
    for _ in range(steps):
        await asyncio.sleep(0)
    if starting.cancel():
        with pytest.raises(asyncio.CancelledError):
            await starting
        assert not manager.started
    else:  # it was done already: nothing to cancel
        await manager.close()
    assert await live_ids(resident) == before


async def test_close_is_idempotent_and_a_closed_manager_can_start_again(
    resident: SandboxManager,
) -> None:
    sm = SandboxManager()
    await sm.start()
    first = sm.sandbox_id
    await sm.execute_code("python", "x = 1")
    await sm.close()
    await sm.close()
    with pytest.raises(SandboxNotStartedError):
        await sm.execute_code("python", "x")
    await sm.start()
    try:
        assert sm.sandbox_id != first
        fresh = await sm.execute_code("python", "x")
        assert fresh.error is not None
        assert fresh.error.name == "NameError"
    finally:
        await sm.close()


async def test_a_manager_that_is_not_started_says_how_to_start_it() -> None:
    sm = SandboxManager()
    with pytest.raises(SandboxNotStartedError, match="async with"):
        await sm.execute_code("python", "1")
    with pytest.raises(SandboxNotStartedError):
        await sm.files.list()
    with pytest.raises(SandboxNotStartedError):
        await sm.info()
