"""A session's cgroups live as long as the session, and take its stragglers with them."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import uuid

from sandbox_analyst.sandbox.local.isolation import ChildIsolation, IsolationSettings, LayerName

from .conftest import require, run_confined


def test_release_kills_escaped_processes_and_removes_the_cgroups(report, workdir):
    require(report, LayerName.CGROUPS)
    isolation = ChildIsolation.prepare(IsolationSettings(), report)
    assert isolation.cgroups is not None
    session = f"release-test-{os.getpid()}"
    # Named by a unique argument: inside a pid namespace its pid means nothing out here.
    marker = f"61.{uuid.uuid4().int % 10**9}"

    def attack(_: str) -> None:
        # A daemon in its own session escapes the worker's process-group kill.
        subprocess.Popen(["sleep", marker], start_new_session=True)

    run_confined(isolation, workdir, attack, session_id=session)  # releases
    for directory in isolation.cgroups.session_dirs(session).values():
        assert not os.path.exists(directory)
    assert [pid for pid in _pids_running("sleep", marker) if not _is_zombie(pid)] == []


def _pids_running(*argv: str) -> list[int]:
    wanted = "\0".join(argv).encode() + b"\0"
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as cmdline:
                    if cmdline.read() == wanted:
                        found.append(int(name))
            except OSError:
                continue
    return found


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True  # reaped meanwhile


def test_releasing_one_confined_run_leaves_a_concurrent_one_alone(report, workdir, tmp_path):
    """Two runs at once (two test suites on one machine, two sessions) have cgroups of their
    own: the end of one must not kill the other."""
    require(report, LayerName.CGROUPS)
    isolation = ChildIsolation.prepare(IsolationSettings(), report)
    started_r, started_w = os.pipe()
    finish_r, finish_w = os.pipe()

    def long_attack(_: str) -> str:
        os.write(started_w, b"x")
        return os.read(finish_r, 1).decode()  # waits until the other run has been released

    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        long_run = executor.submit(run_confined, isolation, workdir, long_attack)
        os.read(started_r, 1)
        other = tmp_path / "other-workdir"
        other.mkdir()
        assert run_confined(isolation, other, lambda _: "quick") == "quick"
        os.write(finish_w, b"y")
        assert long_run.result() == "y"
    for fd in (started_r, started_w, finish_r, finish_w):
        os.close(fd)
