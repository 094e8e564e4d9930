"""`SandboxManager.files`: the sandbox's working directory, shared with the code."""

from __future__ import annotations

import io

import pytest

from sandbox_analyst import SandboxManager
from sandbox_analyst.sandbox import FileAccessError, PathEscapeError

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_write_read_list_remove(sm: SandboxManager) -> None:
    entry = await sm.files.write("data/sales.csv", "month,revenue\n1,120\n")
    assert entry.path == "data/sales.csv"
    assert entry.size == len("month,revenue\n1,120\n")
    await sm.files.write("data/raw.bin", io.BytesIO(b"\x00\x01\x02"))
    assert await sm.files.read_text("data/sales.csv") == "month,revenue\n1,120\n"
    assert await sm.files.read("data/raw.bin") == b"\x00\x01\x02"
    assert b"".join([chunk async for chunk in sm.files.stream("data/raw.bin")]) == b"\x00\x01\x02"

    listing = await sm.files.list("data")
    assert sorted(entry.name for entry in listing) == ["raw.bin", "sales.csv"]
    assert not any(entry.is_dir for entry in listing)
    everything = await sm.files.list(recursive=True)
    assert {"data", "data/sales.csv", "data/raw.bin"} <= {entry.path for entry in everything}

    await sm.files.remove("data/raw.bin")
    assert not await sm.files.exists("data/raw.bin")
    await sm.files.remove("data")
    assert not await sm.files.exists("data/sales.csv")
    with pytest.raises(FileAccessError, match="no such file"):
        await sm.files.remove("data")


async def test_the_code_sees_the_files_and_the_files_see_the_code(sm: SandboxManager) -> None:
    await sm.files.write("input.txt", "\n".join(map(str, range(1, 11))))
    await sm.execute_code(
        "python",
        "import os\nos.makedirs('output', exist_ok=True)\n"
        "open('output/total.txt', 'w').write(str(sum(int(n) for n in open('input.txt'))))",
    )
    assert await sm.files.read_text("output/total.txt") == "55"
    assert await sm.files.make_dir("more/nested")
    assert not await sm.files.make_dir("more/nested")
    assert (await sm.execute_code("bash", "test -d more/nested && echo yes")).stdout == "yes\n"


async def test_paths_may_not_leave_the_workdir(sm: SandboxManager) -> None:
    with pytest.raises(PathEscapeError):
        await sm.files.read("../../etc/passwd")
    with pytest.raises(PathEscapeError):
        await sm.files.write("../outside.txt", "x")
