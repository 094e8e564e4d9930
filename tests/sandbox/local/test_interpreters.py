"""`open_interpreter`: a second interpreter on a session's files, with variables of its own."""

from __future__ import annotations

import pytest

from sandbox_analyst.sandbox import SandboxClosedError
from sandbox_analyst.sandbox.local import LocalSandbox

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_second_interpreter_shares_files_not_variables(sandbox: LocalSandbox) -> None:
    await sandbox.run_code("name = 'first'\nopen('shared.txt', 'w').write('from first')")
    second = await sandbox.open_interpreter()
    assert (await second.run_code("'name' in dir()")).text == "False"
    assert (await second.run_code("open('shared.txt').read()")).text == "'from first'"
    await second.run_code("open('back.txt', 'w').write('from second')")
    assert await sandbox.files.read_bytes("back.txt") == b"from second"
    # Closing it leaves the session and its files alone.
    await second.close()
    assert (await sandbox.run_code("name")).text == "'first'"
    assert await sandbox.files.exists("shared.txt")


async def test_interpreters_end_with_their_session(pool) -> None:
    session = await pool.acquire()
    second = await session.open_interpreter()
    await session.close()
    assert second.closed
    with pytest.raises(SandboxClosedError):
        await second.run_code("1")
