"""envd through the official Python SDK: `sandbox.files` and `sandbox.commands`, confined to the
sandbox's files, which the SDK knows as /home/user."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from e2b import CommandExitException, FileType, NotFoundException, SandboxException
from e2b_code_interpreter import AsyncSandbox, Sandbox

from tests.api.e2b.conftest import E2BUser, in_thread

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def sandbox(alice: E2BUser) -> AsyncIterator[AsyncSandbox]:
    created = await AsyncSandbox.create(**alice.opts)
    yield created
    await created.kill()


async def test_files_in_and_out(sandbox: AsyncSandbox) -> None:
    info = await sandbox.files.write("/home/user/data/in.csv", "a,b\n1,2\n")
    assert info.path == "/home/user/data/in.csv"
    assert info.name == "in.csv"
    assert await sandbox.files.read("/home/user/data/in.csv") == "a,b\n1,2\n"
    assert await sandbox.files.read("data/in.csv", format="bytes") == b"a,b\n1,2\n"
    execution = await sandbox.run_code(
        "import pandas as pd\n"
        "df = pd.read_csv('data/in.csv')\n"
        "df.assign(c=df.a + df.b).to_csv('data/out.csv', index=False)"
    )
    assert execution.error is None
    assert await sandbox.files.read("/home/user/data/out.csv") == "a,b,c\n1,2,3\n"


async def test_binary_and_streamed_uploads(sandbox: AsyncSandbox) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB, every byte value
    await sandbox.files.write("/home/user/blob.bin", io.BytesIO(payload))
    assert await sandbox.files.read("/home/user/blob.bin", format="bytes") == payload
    written = await sandbox.files.write_files(
        [
            {"path": "/home/user/many/one.txt", "data": "1"},
            {"path": "/home/user/many/two.txt", "data": b"2"},
        ]
    )
    assert [entry.path for entry in written] == [
        "/home/user/many/one.txt",
        "/home/user/many/two.txt",
    ]
    assert await sandbox.files.read("/home/user/many/two.txt") == "2"


async def test_list_stat_make_dir_rename_and_remove(sandbox: AsyncSandbox) -> None:
    await sandbox.files.write("/home/user/tree/a.txt", "aaa")
    assert await sandbox.files.make_dir("/home/user/tree/sub") is True
    assert await sandbox.files.make_dir("/home/user/tree/sub") is False
    await sandbox.files.write("/home/user/tree/sub/deep.txt", "d")
    entries = await sandbox.files.list("/home/user/tree")
    assert sorted((entry.name, entry.type) for entry in entries) == [
        ("a.txt", FileType.FILE),
        ("sub", FileType.DIR),
    ]
    assert {entry.size for entry in entries if entry.name == "a.txt"} == {3}
    deep = await sandbox.files.list("/home/user/tree", depth=2)
    assert "/home/user/tree/sub/deep.txt" in [entry.path for entry in deep]
    info = await sandbox.files.get_info("/home/user/tree/a.txt")
    assert (info.type, info.size) == (FileType.FILE, 3)
    moved = await sandbox.files.rename("/home/user/tree/a.txt", "/home/user/tree/b.txt")
    assert moved.path == "/home/user/tree/b.txt"
    assert not await sandbox.files.exists("/home/user/tree/a.txt")
    assert await sandbox.files.exists("/home/user/tree/b.txt")
    await sandbox.files.remove("/home/user/tree/sub")
    assert not await sandbox.files.exists("/home/user/tree/sub/deep.txt")
    with pytest.raises(NotFoundException):
        await sandbox.files.read("/home/user/tree/missing.txt")
    with pytest.raises(NotFoundException):
        await sandbox.files.get_info("/home/user/tree/missing.txt")


async def test_paths_outside_the_sandbox_files_are_refused(sandbox: AsyncSandbox) -> None:
    for path in ("/etc/passwd", "/home/user/../../etc/passwd", "/home/other/x"):
        with pytest.raises(SandboxException):
            await sandbox.files.read(path)
        with pytest.raises(SandboxException):
            await sandbox.files.write(path, "x")
    await sandbox.run_code("import os\nos.symlink('/etc/passwd', 'link')")
    with pytest.raises(SandboxException):
        await sandbox.files.read("/home/user/link")


async def test_the_sync_sdk_moves_files(alice: E2BUser) -> None:
    sandbox = await in_thread(Sandbox.create, **alice.opts)
    try:
        await in_thread(sandbox.files.write, "/home/user/s.txt", "sync")
        assert await in_thread(sandbox.files.read, "/home/user/s.txt") == "sync"
        names = [entry.name for entry in await in_thread(sandbox.files.list, "/home/user")]
        assert "s.txt" in names
        await in_thread(sandbox.files.remove, "/home/user/s.txt")
        assert not await in_thread(sandbox.files.exists, "/home/user/s.txt")
    finally:
        await in_thread(sandbox.kill)


async def test_commands_run_in_the_sandbox_files(sandbox: AsyncSandbox) -> None:
    await sandbox.files.write("/home/user/work/note.txt", "from a file")
    result = await sandbox.commands.run(
        'cat note.txt; echo; echo "$WHO"', cwd="/home/user/work", envs={"WHO": "me"}
    )
    assert result.exit_code == 0
    assert result.stdout == "from a file\nme\n"
    assert result.stderr == ""
    with pytest.raises(CommandExitException) as failed:
        await sandbox.commands.run("echo bad >&2; exit 4")
    assert failed.value.exit_code == 4
    assert failed.value.stderr == "bad\n"


async def test_command_output_streams_to_callbacks(sandbox: AsyncSandbox) -> None:
    lines: list[str] = []
    result = await sandbox.commands.run(
        "for i in 1 2 3; do echo line $i; done", on_stdout=lines.append
    )
    assert "".join(lines) == "line 1\nline 2\nline 3\n"
    assert result.stdout == "line 1\nline 2\nline 3\n"


async def test_a_background_command_can_be_listed_and_killed(sandbox: AsyncSandbox) -> None:
    handle = await sandbox.commands.run("echo started; sleep 600; touch never", background=True)
    assert handle.pid in [process.pid for process in await sandbox.commands.list()]
    assert await handle.kill() is True
    with pytest.raises(CommandExitException):
        await handle.wait()
    assert not await sandbox.files.exists("/home/user/never")
    assert handle.pid not in [process.pid for process in await sandbox.commands.list()]


async def test_a_command_past_its_timeout_is_stopped(sandbox: AsyncSandbox) -> None:
    with pytest.raises(Exception, match=r"(?i)timeout|deadline"):
        await sandbox.commands.run("sleep 600", timeout=1)
    # The stream ended with the deadline, and the command with it.
    for _ in range(100):
        if not await sandbox.commands.list():
            break
        await asyncio.sleep(0.05)
    assert await sandbox.commands.list() == []
