"""A full file system, for real (a tiny tmpfs mounted in a private mount namespace, in a
child process): the blob store and the database both say StorageFullError, and keep nothing
half-written. Mounting needs root and `unshare`; elsewhere these tests are skipped."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from sandbox_analyst.store import StorageFullError, is_out_of_space


def _can_mount() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


needs_mount = pytest.mark.skipif(
    not _can_mount(), reason="needs root and unshare to mount a tmpfs in a mount namespace"
)


def run_on_a_small_disk(mountpoint: Path, body: str) -> dict[str, Any]:
    """Run `body` (async Python; `root` is a tmpfs of 1 MiB, `fill()` fills it) in a child
    process with that tmpfs mounted privately; what it assigns to `result` comes back."""
    script = (
        "import asyncio, json, os\nfrom pathlib import Path\n"
        "root = Path(os.environ['ROOT'])\n"
        "def fill():\n"
        "    with open(root / 'filler', 'wb', buffering=0) as f:\n"
        "        try:\n"
        "            while True: f.write(b'\\0' * 4096)\n"
        "        except OSError: pass\n"
        "async def main():\n" + textwrap.indent(body, "    ") + "\n    return result\n"
        "print(json.dumps(asyncio.run(main())))\n"
    )
    mountpoint.mkdir()
    done = subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            'mount -t tmpfs -o size=1m tmpfs "$ROOT" && exec "$@"',
            "sh",
            sys.executable,
            "-c",
            script,
        ],
        env={**os.environ, "ROOT": str(mountpoint)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@needs_mount
def test_a_blob_that_does_not_fit_is_storage_full_and_leaves_no_part_file(
    tmp_path: Path,
) -> None:
    result = run_on_a_small_disk(
        tmp_path / "disk",
        """
from sandbox_analyst.store import LocalBlobStore, StorageFullError, as_stream
store = LocalBlobStore(root / "blobs")
small = await store.put(as_stream(b"kept"))
try:
    await store.put(as_stream(b"x" * (2 * 1024 * 1024)))
    result = {"raised": None}
except StorageFullError as exc:
    result = {"raised": "StorageFullError", "message": str(exc)}
result["part_files"] = [p.name for p in (root / "blobs" / "tmp").iterdir()]
result["small"] = b"".join([c async for c in store.open(small.key)]).decode()
""",
    )
    assert result["raised"] == "StorageFullError"
    assert "storage is full" in result["message"]
    assert result["part_files"] == []
    assert result["small"] == "kept"


@needs_mount
def test_a_database_write_on_a_full_disk_is_storage_full_and_changes_nothing(
    tmp_path: Path,
) -> None:
    result = run_on_a_small_disk(
        tmp_path / "disk",
        """
from sqlalchemy import select
from sandbox_analyst.store import Database, StorageFullError, User
db = Database(f"sqlite:///{root / 'analyst.db'}")
await db.open()
async with db.session() as session:
    session.add(User(name="before"))
fill()
try:
    async with db.session() as session:
        session.add_all([User(name=f"u{n}" + "x" * 90) for n in range(20_000)])
    result = {"raised": None}
except StorageFullError as exc:
    result = {"raised": "StorageFullError", "message": str(exc)}
(root / "filler").unlink()
async with db.session() as session:
    result["users"] = [u.name for u in await session.scalars(select(User))]
    session.add(User(name="after"))
async with db.session() as session:
    result["after"] = len(list(await session.scalars(select(User))))
await db.close()
""",
    )
    assert result["raised"] == "StorageFullError"
    assert "storage is full" in result["message"]
    assert result["users"] == ["before"]  # the failed transaction left nothing
    assert result["after"] == 2  # and the database works once there is space again


@pytest.mark.parametrize(
    ("error", "full"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), True),
        (OSError(errno.EACCES, "Permission denied"), False),
        (sqlite3.OperationalError("database is locked"), False),
    ],
)
def test_out_of_space_is_told_from_other_errors(error: BaseException, full: bool) -> None:
    assert is_out_of_space(error) is full


def test_a_wrapped_out_of_space_error_is_recognised() -> None:
    wrapped = RuntimeError("a driver adapter's error")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert is_out_of_space(wrapped)
    assert StorageFullError.code == "storage_full"
    assert StorageFullError.http_status == 507
