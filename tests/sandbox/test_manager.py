"""The session manager: reuse per key, a cap on live sessions, idle reaping."""

from __future__ import annotations

import asyncio

import pytest

from sandbox_analyst.sandbox import SandboxPool, SessionManager, TooManySessionsError

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_same_key_reuses_the_same_sandbox(pool: SandboxPool) -> None:
    manager = SessionManager(pool, max_sessions=4, idle_timeout=60)
    try:
        first, created = await manager.get_or_create(("alice", "conv-1"))
        again, created_again = await manager.get_or_create(("alice", "conv-1"))
        other, _ = await manager.get_or_create(("bob", "conv-1"))
        assert (created, created_again) == (True, False)
        assert first is again
        assert other is not first
    finally:
        for key in [("alice", "conv-1"), ("bob", "conv-1")]:
            await manager.close(key)


async def test_concurrent_requests_for_one_key_share_one_sandbox(pool: SandboxPool) -> None:
    manager = SessionManager(pool, max_sessions=4, idle_timeout=60)
    try:
        results = await asyncio.gather(*(manager.get_or_create("k") for _ in range(5)))
        assert len({id(sandbox) for sandbox, _ in results}) == 1
        assert len(manager) == 1
    finally:
        await manager.close("k")


async def test_exceeding_the_limit_is_a_clear_error(pool: SandboxPool) -> None:
    manager = SessionManager(pool, max_sessions=2, idle_timeout=60)
    try:
        await manager.get_or_create("a")
        await manager.get_or_create("b")
        with pytest.raises(TooManySessionsError, match="limit 2"):
            await manager.get_or_create("c")
        await manager.close("a")
        await manager.get_or_create("c")  # room again
    finally:
        for key in "abc":
            await manager.close(key)


async def test_idle_sessions_are_reaped_busy_ones_are_not(pool: SandboxPool) -> None:
    manager = SessionManager(pool, max_sessions=4, idle_timeout=0.3)
    try:
        idle, _ = await manager.get_or_create("idle")
        busy, _ = await manager.get_or_create("busy")
        running = asyncio.create_task(busy.run_code("import time; time.sleep(1.2)"))
        await asyncio.sleep(0.8)
        assert await manager.reap_idle() == 1
        assert idle.closed
        assert not busy.closed
        await running
        assert manager.get("idle") is None
    finally:
        await manager.close("busy")


async def test_the_reaper_runs_by_itself(pool: SandboxPool) -> None:
    manager = SessionManager(pool, max_sessions=4, idle_timeout=0.2, reap_interval=0.1)
    manager.start()
    try:
        sandbox, _ = await manager.get_or_create("soon idle")
        for _ in range(50):
            if sandbox.closed:
                break
            await asyncio.sleep(0.1)
        assert sandbox.closed
    finally:
        await manager.shutdown(close_pool=False)
