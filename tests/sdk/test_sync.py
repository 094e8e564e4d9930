"""`SyncSandboxManager`: the same sandbox without `await`, for scripts and notebooks (where
an event loop may already run in the calling thread)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sandbox_analyst import SyncSandboxManager
from sandbox_analyst.sdk import SandboxNotStartedError


def test_the_blocking_manager_runs_code_files_and_info(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A data directory of its own: its pool's directory then holds only this test's sandboxes.
    monkeypatch.setenv("ANALYST_DATA_DIR", str(tmp_path))
    printed: list[str] = []
    with SyncSandboxManager(env_vars={"STAGE": "sync"}) as sm, SyncSandboxManager() as other:
        assert sm.manager.provider is other.manager.provider  # one pool for the process
        pool = sm.manager.provider.pool
        sm.execute_code("python", "x = 41")
        assert sm.execute_code("python", "x + 1").text == "42"
        sm.files.write("notes.txt", "from the host")
        bash = sm.execute_code("bash", "cat notes.txt; echo; echo $STAGE", on_stdout=printed.append)
        assert bash.stdout == "from the host\nsync\n"
        assert "".join(printed) == bash.stdout
        assert [entry.name for entry in sm.files.list() if entry.name == "notes.txt"]
        assert sm.files.read_text("notes.txt") == "from the host"
        sm.files.remove("notes.txt")
        assert not sm.files.exists("notes.txt")
        before = sm.info()
        sm.execute_code("python", "sum(range(10**6))")
        assert sm.info().executions == before.executions + 1
        assert other.execute_code("python", "'x' in globals()").text == "False"
    assert not sm.started
    assert not pool.running  # the last manager to close shut the pool down
    # No workdir left behind, not even a spare worker's (the pool's caches are hidden ones).
    assert [path for path in pool.root.iterdir() if not path.name.startswith(".")] == []
    with pytest.raises(SandboxNotStartedError):
        sm.execute_code("python", "1")


async def test_it_works_where_an_event_loop_is_running() -> None:
    """As in a notebook cell: called from a thread whose loop is running."""
    asyncio.get_running_loop()
    with SyncSandboxManager() as sm:
        assert sm.execute_code("python", "2 ** 10").text == "1024"


def test_a_callback_that_calls_the_blocking_manager_gets_a_clear_error() -> None:
    errors: list[Exception] = []
    with SyncSandboxManager() as sm:

        def on_stdout(_text: str) -> None:
            try:
                sm.execute_code("python", "1")
            except RuntimeError as exc:
                errors.append(exc)

        sm.execute_code("python", "print('hi')", on_stdout=on_stdout)
    assert len(errors) == 1
    assert "own callbacks" in str(errors[0])
