"""The file API: confined to the workdir, streaming both ways, clear errors."""

from __future__ import annotations

import io

import pytest

from sandbox_analyst.sandbox import FileAccessError, PathEscapeError, Sandbox

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_code_sees_uploaded_files(sandbox: Sandbox) -> None:
    await sandbox.files.write("data/sales.csv", b"region,amount\nnorth,10\nsouth,32\n")
    execution = await sandbox.run_code(
        "import pandas as pd\nint(pd.read_csv('data/sales.csv')['amount'].sum())"
    )
    assert execution.text == "42"


async def test_write_accepts_bytes_files_and_async_streams(sandbox: Sandbox) -> None:
    async def stream():
        for part in (b"a" * 1000, b"b" * 1000):
            yield part

    await sandbox.files.write("from-bytes.bin", b"xyz")
    await sandbox.files.write("from-file.bin", io.BytesIO(b"0123456789"))
    entry = await sandbox.files.write("from-stream.bin", stream())
    assert entry.size == 2000
    assert await sandbox.files.read_bytes("from-file.bin") == b"0123456789"


async def test_read_streams_in_chunks(sandbox: Sandbox) -> None:
    await sandbox.run_code("open('big.bin', 'wb').write(b'z' * 300_000)")
    chunks = [chunk async for chunk in sandbox.files.read("big.bin", chunk_size=100_000)]
    assert [len(chunk) for chunk in chunks] == [100_000, 100_000, 100_000]


async def test_list_exists_remove(sandbox: Sandbox) -> None:
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
async def test_paths_that_escape_are_refused(sandbox: Sandbox, path: str) -> None:
    with pytest.raises(PathEscapeError):
        await sandbox.files.write(path, b"x")
    with pytest.raises(PathEscapeError):
        await sandbox.files.read_bytes(path)


async def test_missing_files_are_clear_errors(sandbox: Sandbox) -> None:
    with pytest.raises(FileAccessError, match="no such file"):
        await sandbox.files.read_bytes("nope.csv")
    with pytest.raises(FileAccessError, match="no such file"):
        await sandbox.files.remove("nope.csv")
    with pytest.raises(FileAccessError, match="no such directory"):
        await sandbox.files.list("nope")
