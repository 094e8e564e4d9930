"""The local file API: planted symlinks never followed, atomic writes, the disk quota."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox_analyst.sandbox import FileAccessError, PathEscapeError
from sandbox_analyst.sandbox.local import LocalSandbox
from sandbox_analyst.sandbox.local.files import LocalFiles

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_symlinks_planted_by_code_are_not_followed(sandbox: LocalSandbox, tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("server secret")
    await sandbox.run_code(
        f"import os\nos.symlink({str(secret)!r}, 'link.txt')\nos.symlink({str(tmp_path)!r}, 'dir')"
    )
    with pytest.raises(PathEscapeError, match="symbolic links"):
        await sandbox.files.read_bytes("link.txt")
    with pytest.raises(PathEscapeError, match="symbolic links"):
        await sandbox.files.read_bytes("dir/secret.txt")
    with pytest.raises(PathEscapeError, match="symbolic links"):
        await sandbox.files.write("link.txt", b"overwrite")
    with pytest.raises(PathEscapeError, match="symbolic links"):
        await sandbox.files.write("dir/new.txt", b"escape")
    assert secret.read_text() == "server secret"
    assert not (tmp_path / "new.txt").exists()


async def test_a_broken_stream_leaves_no_partial_file(tmp_path) -> None:
    files = LocalFiles(tmp_path)

    async def broken():
        yield b"first half"
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        await files.write("upload.csv", broken())
    assert os.listdir(tmp_path) == []


async def test_quota_refuses_writes_that_would_exceed_it(tmp_path) -> None:
    files = LocalFiles(tmp_path, quota_bytes=1000)
    await files.write("a.bin", b"x" * 600)
    with pytest.raises(FileAccessError, match="quota"):
        await files.write("b.bin", b"x" * 600)
    assert sorted(os.listdir(tmp_path)) == ["a.bin"]


# --- Hostile workdirs: special files, huge and deep trees. The server must stay responsive. --


@dataclass
class Fifo:
    path: Path
    blocked: bool = False
    """Set when the code under test blocked on opening it (and a writer had to unblock it)."""


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Fifo]:
    """A FIFO nobody writes to: opening it for reading blocks until a writer comes. If the
    code under test does block on it, a writer is let in after a while, so that the test
    fails instead of hanging."""
    planted = Fifo(tmp_path / "pipe")
    os.mkfifo(planted.path)
    done = threading.Event()

    def unblock_if_stuck() -> None:
        if not done.wait(10):
            planted.blocked = True
            with open(planted.path, "wb"):
                pass

    helper = threading.Thread(target=unblock_if_stuck, daemon=True)
    helper.start()
    yield planted
    done.set()
    helper.join()


async def test_a_fifo_is_refused_without_blocking(tmp_path, fifo) -> None:
    files = LocalFiles(tmp_path)
    with pytest.raises(FileAccessError, match="not a regular file"):
        await files.read_bytes("pipe")
    assert not fifo.blocked


async def test_a_socket_file_is_refused_as_not_a_regular_file(tmp_path) -> None:
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(tmp_path / "service.sock"))
        with pytest.raises(FileAccessError, match="not a regular file"):
            await LocalFiles(tmp_path).read_bytes("service.sock")


async def test_walk_is_bounded_in_entries_and_says_so(tmp_path) -> None:
    for index in range(300):
        (tmp_path / f"f{index:03}.txt").write_bytes(b"x")
    listing = await LocalFiles(tmp_path).walk(max_entries=100)
    assert len(listing.entries) == 100
    assert listing.truncated is not None
    assert "100 entries" in listing.truncated
    complete = await LocalFiles(tmp_path).walk()
    assert len(complete.entries) == 300
    assert complete.truncated is None


async def test_a_very_deep_tree_is_listed_measured_and_removed(deep_workdir) -> None:
    workdir = deep_workdir
    files = LocalFiles(workdir)
    listing = await files.walk(max_depth=32)
    assert len(listing.entries) == 32
    assert listing.truncated is not None
    assert "32 levels" in listing.truncated
    assert len(await files.list(recursive=True)) > 32  # bounded, but no RecursionError
    assert await asyncio.to_thread(files.usage_bytes) == 1000  # at any depth
    await files.remove("d")
    assert os.listdir(workdir) == []


async def test_removal_succeeds_on_read_only_directories_and_files(tmp_path) -> None:
    workdir = tmp_path / "workdir"
    (workdir / "locked" / "inner").mkdir(parents=True)
    (workdir / "locked" / "inner" / "data.csv").write_text("a,b\n")
    (workdir / "locked" / "inner" / "data.csv").chmod(0o400)
    (workdir / "locked" / "inner").chmod(0o500)
    (workdir / "locked").chmod(0o000)
    await LocalFiles(workdir).remove("locked")
    assert os.listdir(workdir) == []


async def test_listing_a_huge_workdir_leaves_the_event_loop_free(tmp_path) -> None:
    for index in range(20_000):
        (tmp_path / f"f{index:05}").touch()
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    beating = asyncio.create_task(heartbeat())
    await asyncio.sleep(0)
    ticks = 0
    try:
        listed = await LocalFiles(tmp_path).list()
    finally:
        beating.cancel()
    assert len(listed) == 20_000
    assert ticks > 0  # the loop kept running other tasks while the directory was read
