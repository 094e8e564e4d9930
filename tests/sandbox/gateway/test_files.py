"""Files in a gateway session's workdir, moved through the kernel (the gateway has none)."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox_analyst.sandbox import FileAccessError, PathEscapeError
from sandbox_analyst.sandbox.gateway import GatewaySandbox
from tests.sandbox.gateway.conftest import started_gateway_provider
from tests.sandbox.gateway.gateway_process import GatewayProcess


async def test_written_files_are_what_the_code_reads(sandbox: GatewaySandbox) -> None:
    entry = await sandbox.files.write("data/sales.csv", b"region,amount\nnorth,3\nsouth,4\n")
    assert (entry.name, entry.path, entry.size, entry.is_dir) == (
        "sales.csv",
        "data/sales.csv",
        30,
        False,
    )
    execution = await sandbox.run_code(
        "import pandas as pd\nint(pd.read_csv('data/sales.csv')['amount'].sum())"
    )
    assert execution.text == "7"


async def test_large_files_travel_in_chunks_both_ways(sandbox: GatewaySandbox) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 123)  # several 1 MiB chunks, and a partial one

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 700_000):
            yield payload[start : start + 700_000]

    await sandbox.files.write("blob.bin", stream())
    assert await sandbox.files.read_bytes("blob.bin") == payload
    chunks = [chunk async for chunk in sandbox.files.read("blob.bin", chunk_size=1 << 20)]
    assert len(chunks) == 4
    await sandbox.files.write("from-file.bin", io.BytesIO(payload[:1000]))
    digest = await sandbox.run_code(
        "import hashlib\nhashlib.sha256(open('blob.bin', 'rb').read()).hexdigest()"
    )
    import hashlib

    assert digest.text == repr(hashlib.sha256(payload).hexdigest())


async def test_files_the_code_writes_are_listed_and_readable(sandbox: GatewaySandbox) -> None:
    await sandbox.run_code(
        "import os\nos.makedirs('out/deep')\n"
        "open('out/deep/result.txt', 'w').write('done')\nopen('top.txt', 'w').write('x')"
    )
    top = await sandbox.files.list()
    assert [(entry.path, entry.is_dir) for entry in top] == [("out", True), ("top.txt", False)]
    everything = await sandbox.files.list(recursive=True)
    assert [entry.path for entry in everything] == [
        "out",
        "out/deep",
        "out/deep/result.txt",
        "top.txt",
    ]
    assert await sandbox.files.read_bytes("out/deep/result.txt") == b"done"
    assert await sandbox.files.exists("out/deep")
    await sandbox.files.remove("out")
    assert not await sandbox.files.exists("out/deep/result.txt")
    assert [entry.path for entry in await sandbox.files.list()] == ["top.txt"]


@pytest.mark.parametrize("path", ["../escape.txt", "/etc/passwd", "a/../../b", "bad\x00name"])
async def test_paths_outside_the_workdir_are_refused(sandbox: GatewaySandbox, path: str) -> None:
    with pytest.raises(PathEscapeError):
        await sandbox.files.write(path, b"x")
    with pytest.raises(PathEscapeError):
        await sandbox.files.read_bytes(path)


async def test_symbolic_links_planted_by_the_code_are_not_followed(
    sandbox: GatewaySandbox, tmp_path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("server secret")
    await sandbox.run_code(
        f"import os\nos.symlink({str(secret)!r}, 'link.txt')\n"
        f"os.symlink({str(tmp_path)!r}, 'linkdir')"
    )
    with pytest.raises(PathEscapeError):
        await sandbox.files.read_bytes("link.txt")
    with pytest.raises(PathEscapeError):
        await sandbox.files.read_bytes("linkdir/secret.txt")
    with pytest.raises(PathEscapeError):
        await sandbox.files.write("link.txt", b"overwrite")
    with pytest.raises(PathEscapeError):
        await sandbox.files.write("linkdir/new.txt", b"x")
    assert secret.read_text() == "server secret"
    assert not (tmp_path / "new.txt").exists()


async def test_missing_files_are_a_clear_error(sandbox: GatewaySandbox) -> None:
    with pytest.raises(FileAccessError, match="no such file"):
        await sandbox.files.read_bytes("nope.txt")
    with pytest.raises(FileAccessError, match="no such"):
        await sandbox.files.remove("nope.txt")
    with pytest.raises(FileAccessError):
        await sandbox.files.list("no-such-dir")
    assert not await sandbox.files.exists("nope.txt")


async def test_writes_beyond_the_disk_quota_are_refused_and_leave_nothing(
    kernel_gateway: GatewayProcess,
) -> None:
    async with started_gateway_provider(kernel_gateway, sandbox={"disk_quota_mb": 1}) as provider:
        sandbox = await provider.create()
        await sandbox.files.write("small.bin", b"x" * 1000)
        with pytest.raises(FileAccessError, match="quota"):
            await sandbox.files.write("big.bin", os.urandom(2 * 1024 * 1024))
        assert [entry.path for entry in await sandbox.files.list()] == ["small.bin"]
        execution = await sandbox.run_code("open('made.bin', 'wb').write(b'y' * 1_500_000)")
        assert execution.error is not None
        assert execution.error.name == "DiskQuotaExceeded"


async def test_ending_a_session_removes_its_workdir(
    kernel_gateway: GatewayProcess, gateway_provider
) -> None:
    sandbox = await gateway_provider.create()
    await sandbox.files.write("a.txt", b"a")
    workdir = Path(sandbox.workdir)
    assert workdir.is_relative_to(kernel_gateway.root)  # its kernels run on this machine
    assert await asyncio.to_thread((workdir / "a.txt").read_bytes) == b"a"
    await sandbox.close()
    assert not await asyncio.to_thread(workdir.exists)
