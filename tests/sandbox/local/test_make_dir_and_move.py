"""Directories and renames in a session's workdir, confined like every other file call."""

from __future__ import annotations

import pytest

from sandbox_analyst.sandbox import FileAccessError, PathEscapeError
from sandbox_analyst.sandbox.local import LocalSandbox

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_make_dir_creates_parents_and_reports_existing_ones(sandbox: LocalSandbox) -> None:
    assert await sandbox.files.make_dir("a/b/c") is True
    assert await sandbox.files.make_dir("a/b/c") is False
    assert [entry.path for entry in await sandbox.files.list("a", recursive=True)] == [
        "a/b",
        "a/b/c",
    ]
    await sandbox.files.write("file.txt", b"x")
    with pytest.raises(FileAccessError, match="not a directory"):
        await sandbox.files.make_dir("file.txt")
    with pytest.raises(FileAccessError):
        await sandbox.files.make_dir("file.txt/below")


async def test_move_renames_files_and_directories(sandbox: LocalSandbox) -> None:
    await sandbox.files.write("src/data.csv", b"1,2\n")
    entry = await sandbox.files.move("src/data.csv", "data.csv")
    assert (entry.path, entry.size, entry.is_dir) == ("data.csv", 4, False)
    assert await sandbox.files.read_bytes("data.csv") == b"1,2\n"
    assert not await sandbox.files.exists("src/data.csv")
    moved = await sandbox.files.move("src", "renamed")
    assert moved.is_dir
    with pytest.raises(FileAccessError, match="not found"):
        await sandbox.files.move("missing", "elsewhere")


async def test_neither_follows_links_planted_by_code(sandbox: LocalSandbox, tmp_path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    await sandbox.run_code(f"import os\nos.symlink({str(outside)!r}, 'link')")
    with pytest.raises(PathEscapeError):
        await sandbox.files.make_dir("link/inside")
    await sandbox.files.write("mine.txt", b"x")
    with pytest.raises(PathEscapeError):
        await sandbox.files.move("mine.txt", "link/mine.txt")
    with pytest.raises(PathEscapeError):
        await sandbox.files.move("../x", "y")
    # Renaming the link itself is a rename in the workdir, not a walk through it.
    await sandbox.files.move("link", "link2")
    assert list(outside.iterdir()) == []
