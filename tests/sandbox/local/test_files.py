"""The local file API: planted symlinks never followed, atomic writes, the disk quota."""

from __future__ import annotations

import os

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
