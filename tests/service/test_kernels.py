"""Kernels of the Jupyter subset: sandbox sessions of their owner's, reached by nobody else,
gone as soon as their session is (deleted, or ended by the session manager)."""

from __future__ import annotations

import pytest

from sandbox_analyst.sandbox import SessionKey, SessionManager
from sandbox_analyst.service import KernelNotFound, KernelService, NoSuchKernelSpec, Principal

pytestmark = pytest.mark.asyncio(loop_scope="session")

ALICE = Principal(user_id="kernel-alice", name="alice", is_admin=False)
BOB = Principal(user_id="kernel-bob", name="bob", is_admin=True)


async def test_a_kernel_is_its_owners_sandbox_session(sandbox_sessions: SessionManager) -> None:
    kernels = KernelService(sandbox_sessions)
    before = sandbox_sessions.count(ALICE.user_id)
    kernel = await kernels.start(ALICE)
    try:
        assert sandbox_sessions.count(ALICE.user_id) == before + 1
        assert kernels.get(ALICE, kernel.id) is kernel
        assert kernels.list(BOB) == []
        with pytest.raises(KernelNotFound):
            kernels.get(BOB, kernel.id)
        with pytest.raises(KernelNotFound):
            await kernels.delete(BOB, kernel.id)
    finally:
        await kernels.delete(ALICE, kernel.id)
    assert sandbox_sessions.count(ALICE.user_id) == before  # off the books at once
    with pytest.raises(KernelNotFound):
        kernels.get(ALICE, kernel.id)
    await kernels.shutdown()  # waits for the session's end


async def test_a_kernel_whose_session_ended_is_gone(sandbox_sessions: SessionManager) -> None:
    kernels = KernelService(sandbox_sessions)
    kernel = await kernels.start(ALICE)
    # As the idle reaper, or a cap making room, would.
    await sandbox_sessions.end(SessionKey(ALICE.user_id, f"jupyter:{kernel.id}"))
    assert kernels.list(ALICE) == []
    with pytest.raises(KernelNotFound):
        kernels.get(ALICE, kernel.id)
    await kernels.shutdown()


async def test_restart_clears_variables_and_the_execution_count(
    sandbox_sessions: SessionManager,
) -> None:
    kernels = KernelService(sandbox_sessions)
    kernel = await kernels.start(ALICE)
    try:
        async with kernel.executing() as sandbox:
            kernel.next_count()
            await sandbox.run_code("kept = 1")
        await kernels.restart(ALICE, kernel.id)
        async with kernel.executing() as sandbox:
            execution = await sandbox.run_code("kept")
        assert kernel.execution_count == 0
        assert execution.error is not None
        assert execution.error.name == "NameError"
    finally:
        await kernels.shutdown()


async def test_only_the_python_kernel_exists(sandbox_sessions: SessionManager) -> None:
    with pytest.raises(NoSuchKernelSpec):
        await KernelService(sandbox_sessions).start(ALICE, "julia-1.10")
