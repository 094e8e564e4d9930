"""`remove_tree`: a session's workdir goes, whatever the code in it made of it."""

from __future__ import annotations

import os
import pickle
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

from sandbox_analyst.sandbox.local.isolation.settings import NOBODY_UID
from sandbox_analyst.sandbox.local.tree_removal import remove_tree


def test_a_tree_of_any_depth_is_removed_and_links_in_it_are_not_followed(
    tmp_path, deep_workdir
) -> None:
    workdir = deep_workdir
    (workdir / "d" / "sub").mkdir()
    os.symlink("/etc", workdir / "d" / "sub" / "etc-link")
    (tmp_path / "outside.txt").write_text("kept")
    os.symlink(tmp_path / "outside.txt", workdir / "outside-link")
    remove_tree(workdir)
    assert not workdir.exists()
    assert (tmp_path / "outside.txt").read_text() == "kept"
    assert os.path.isdir("/etc")
    remove_tree(workdir)  # already gone: fine


def test_the_owner_removes_what_it_made_unreadable_and_read_only() -> None:
    """As an unprivileged server does with its sessions' files (same uid, no root rights)."""
    with tempfile.TemporaryDirectory() as shared:  # reachable by nobody, unlike tmp_path
        os.chmod(shared, 0o777)
        assert _unprivileged(lambda: _lock_up_and_remove(Path(shared))) == []


def _lock_up_and_remove(parent: Path) -> list[str]:
    workdir = parent / "workdir"
    (workdir / "locked" / "inner").mkdir(parents=True)
    (workdir / "locked" / "inner" / "data.csv").write_text("a,b\n")
    (workdir / "locked" / "inner" / "data.csv").chmod(0o400)
    (workdir / "locked" / "inner").chmod(0o500)
    (workdir / "locked").chmod(0o000)
    (workdir / "sticky").mkdir(mode=0o1500)
    workdir.chmod(0o500)
    remove_tree(workdir)
    return os.listdir(parent)


def _unprivileged(action: Callable[[], object]) -> object:
    """Run `action` in a child without root's rights (as nobody when we are root)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child leaves through os._exit
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setresgid(NOBODY_UID, NOBODY_UID, NOBODY_UID)
                os.setresuid(NOBODY_UID, NOBODY_UID, NOBODY_UID)
            try:
                payload = ("ok", action())
            except BaseException:
                payload = ("error", traceback.format_exc())
            with os.fdopen(write_end, "wb") as pipe:
                pickle.dump(payload, pipe)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        status, value = pickle.loads(pipe.read())
    os.waitpid(pid, 0)
    assert status == "ok", value
    return value
