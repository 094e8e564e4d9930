"""A session's working directory is also its `/mnt/data` (the path LibreChat's code tool tells
the model its files are in): the same files both ways, and only this session's."""

from __future__ import annotations

import pytest

from sandbox_analyst.sandbox.local import SandboxPool
from sandbox_analyst.sandbox.local.isolation import LayerName

pytestmark = pytest.mark.asyncio(loop_scope="session")


def require_mount_namespace(pool: SandboxPool) -> None:
    report = pool.isolation_report
    if report is None or not report.layer(LayerName.FILESYSTEM).active:
        pytest.skip("no filesystem isolation here")
    if "/home/user" not in report.layer(LayerName.FILESYSTEM).detail:
        pytest.skip("the filesystem layer is not a mount namespace here")


async def test_files_of_the_workdir_are_under_mnt_data_and_back(pool: SandboxPool) -> None:
    require_mount_namespace(pool)
    async with await pool.acquire() as sandbox:
        await sandbox.files.write("input.csv", b"a,b\n1,2\n")
        execution = await sandbox.run_code(
            "import os\n"
            "text = open('/mnt/data/input.csv').read()\n"
            "open('/mnt/data/out.txt', 'w').write(text.upper())\n"
            "(text, os.path.samefile('/mnt/data', os.getcwd()))"
        )
        assert execution.error is None, execution.error
        assert execution.text == "('a,b\\n1,2\\n', True)"
        assert await sandbox.files.read_bytes("out.txt") == b"A,B\n1,2\n"
        listing = await sandbox.run_code("ls /mnt/data", language="bash")
        assert "".join(listing.logs.stdout).split() == ["input.csv", "out.txt"]


async def test_mnt_data_holds_only_this_sessions_files(pool: SandboxPool) -> None:
    require_mount_namespace(pool)
    async with await pool.acquire() as first, await pool.acquire() as second:
        await first.files.write("mine.txt", b"first's")
        execution = await second.run_code("import os; sorted(os.listdir('/mnt/data'))")
        assert execution.text == "[]"
        wrote = await second.run_code("open('/mnt/escape.txt', 'w')")
        assert wrote.error is not None  # the rest of /mnt is an empty read-only tmpfs
