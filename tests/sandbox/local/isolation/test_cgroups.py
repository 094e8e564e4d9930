"""A session's cgroups live as long as the session, and take its stragglers with them."""

from __future__ import annotations

import os
import subprocess

from sandbox_analyst.sandbox.local.isolation import ChildIsolation, IsolationSettings, LayerName

from .conftest import require, run_confined


def test_release_kills_escaped_processes_and_removes_the_cgroups(report, workdir):
    require(report, LayerName.CGROUPS)
    isolation = ChildIsolation.prepare(IsolationSettings(), report)
    assert isolation.cgroups is not None
    session = f"release-test-{os.getpid()}"

    def attack(_: str) -> int:
        # A daemon in its own session escapes the worker's process-group kill.
        return subprocess.Popen(["sleep", "60"], start_new_session=True).pid

    daemon = run_confined(isolation, workdir, attack, session_id=session)  # releases
    for directory in isolation.cgroups.session_dirs(session).values():
        assert not os.path.exists(directory)
    assert not os.path.exists(f"/proc/{daemon}") or _is_zombie(daemon)


def _is_zombie(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
