"""The file API: confined to the workdir, streaming both ways, atomic writes."""

from __future__ import annotations

import io
import os

import pytest

from sandbox_analyst.sandbox import FileAccessError, LocalSandbox, PathEscapeError
from sandbox_analyst.sandbox.local.files import LocalFiles

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_code_sees_uploaded_files(sandbox: LocalSandbox) -> None:
    await sandbox.files.write("data/sales.csv", b"region,amount\nnorth,10\nsouth,32\n")
    execution = await sandbox.run_code(
        "import pandas as pd\nint(pd.read_csv('data/sales.csv')['amount'].sum())"
    )
    assert execution.text == "42"


async def test_write_accepts_bytes_files_and_async_streams(sandbox: LocalSandbox) -> None:
    async def stream():
        for part in (b"a" * 1000, b"b" * 1000):
            yield part

    await sandbox.files.write("from-bytes.bin", b"xyz")
    await sandbox.files.write("from-file.bin", io.BytesIO(b"0123456789"))
    entry = await sandbox.files.write("from-stream.bin", stream())
    assert entry.size == 2000
    assert await sandbox.files.read_bytes("from-file.bin") == b"0123456789"


async def test_read_streams_in_chunks(sandbox: LocalSandbox) -> None:
    await sandbox.run_code("open('big.bin', 'wb').write(b'z' * 300_000)")
    chunks = [chunk async for chunk in sandbox.files.read("big.bin", chunk_size=100_000)]
    assert [len(chunk) for chunk in chunks] == [100_000, 100_000, 100_000]


async def test_list_exists_remove(sandbox: LocalSandbox) -> None:
    await sandbox.files.write("reports/q1.txt", b"1")
    await sandbox.files.write("reports/q2.txt", b"22")
    listed = await sandbox.files.list("reports")
    assert [(entry.path, entry.size) for entry in listed] == [
        ("reports/q1.txt", 1),
        ("reports/q2.txt", 2),
    ]
    everything = await sandbox.files.list(recursive=True)
    assert "reports/q2.txt" in {entry.path for entry in everything}
    assert await sandbox.files.exists("reports/q1.txt")
    await sandbox.files.remove("reports/q1.txt")
    assert not await sandbox.files.exists("reports/q1.txt")
    await sandbox.files.remove("reports")
    assert not await sandbox.files.exists("reports")


@pytest.mark.parametrize(
    "path", ["../outside.txt", "a/../../outside.txt", "/etc/passwd", "bad\x00name", ""]
)
async def test_paths_that_escape_are_refused(sandbox: LocalSandbox, path: str) -> None:
    with pytest.raises(PathEscapeError):
        await sandbox.files.write(path, b"x")
    with pytest.raises(PathEscapeError):
        await sandbox.files.read_bytes(path)


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


async def test_missing_files_are_clear_errors(sandbox: LocalSandbox) -> None:
    with pytest.raises(FileAccessError, match="no such file"):
        await sandbox.files.read_bytes("nope.csv")
    with pytest.raises(FileAccessError, match="no such file"):
        await sandbox.files.remove("nope.csv")
    with pytest.raises(FileAccessError, match="no such directory"):
        await sandbox.files.list("nope")


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
