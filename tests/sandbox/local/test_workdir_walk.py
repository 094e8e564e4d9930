"""`TreeWalk`: iterative, bounded, and frugal with descriptors at any depth."""

from __future__ import annotations

import os
import resource

from sandbox_analyst.sandbox.local.workdir_walk import DIRECTORY_FLAGS, TreeWalk, WalkLimits


def test_a_tree_deeper_than_the_descriptor_limit_is_walked_whole(deep_workdir) -> None:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child leaves through os._exit
        try:
            # What the test process holds open is not the walk's: only the pipe stays.
            os.closerange(3, write_end)
            os.closerange(write_end + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
            fd = os.open(deep_workdir, DIRECTORY_FLAGS)
            walked = TreeWalk(fd, WalkLimits(max_entries=None, max_depth=None))
            count = sum(1 for _ in walked)
            os.write(write_end, f"{count} {walked.truncated}".encode())
        except BaseException as exc:
            os.write(write_end, repr(exc).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        outcome = pipe.read()
    os.waitpid(pid, 0)
    assert outcome == "1101 None"  # 1100 directories and the file at the bottom


def test_links_are_listed_never_followed(tmp_path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("1")
    os.symlink("/etc", tmp_path / "etc-link")
    fd = os.open(tmp_path, DIRECTORY_FLAGS)
    try:
        paths = sorted(path for path, _ in TreeWalk(fd))
    finally:
        os.close(fd)
    assert paths == ["data", "data/a.csv", "etc-link"]
