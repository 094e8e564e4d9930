"""The server's own secrets: made once into a 0600 file, the same ever after, one winner when
several processes start at once."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sandbox_analyst.service.key_files import read_or_create


def test_a_secret_is_made_once_into_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "data" / "server.key"
    first = read_or_create(path, lambda: b"first")
    again = read_or_create(path, lambda: b"second")
    assert (first, again) == (b"first", b"first")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [entry.name for entry in path.parent.iterdir()] == ["server.key"]  # nothing aside


def test_processes_starting_at_once_agree_on_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "server.key"
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda n: read_or_create(path, lambda: f"{n}".encode()), range(32)))
    assert len(set(made)) == 1
    assert path.read_bytes() == made[0]
