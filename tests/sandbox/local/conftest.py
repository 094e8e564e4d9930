"""Hostile workdir shapes for the local engine's file tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox_analyst.sandbox.local.tree_removal import remove_tree

DEPTH = 1100  # past Python's recursion limit, as a user's `os.makedirs` loop made it


@pytest.fixture
def deep_workdir(tmp_path: Path) -> Iterator[Path]:
    """A workdir holding `DEPTH` nested directories `d/d/d/...` with a 1000-byte file at the
    bottom, made without long paths. Removed afterwards with `remove_tree`, whatever the test
    did: pytest's own clean-up of tmp_path would recurse too deep."""
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(DEPTH):
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    with os.fdopen(os.open("bottom.bin", os.O_WRONLY | os.O_CREAT, dir_fd=fd), "wb") as out:
        out.write(b"x" * 1000)
    os.close(fd)
    yield workdir
    remove_tree(workdir)
