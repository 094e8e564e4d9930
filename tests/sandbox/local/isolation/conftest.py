"""Run code in a forked child confined by `ChildIsolation.apply`, and bring back what happened."""

from __future__ import annotations

import os
import pickle
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sandbox_analyst.sandbox.local.isolation import (
    ChildIsolation,
    IsolationReport,
    IsolationSettings,
    LayerName,
    detect,
)

Confine = Callable[..., Any]


@pytest.fixture(scope="session")
def report() -> IsolationReport:
    return detect(IsolationSettings())


def require(report: IsolationReport, *names: LayerName) -> None:
    for name in names:
        layer = report.layer(name)
        if not layer.active:
            pytest.skip(f"{name} is {layer.status.value} here: {layer.detail}")


def outcome(action: Callable[[], object]) -> str:
    """'ok', or the name of the exception the action raised."""
    try:
        action()
    except BaseException as exc:
        return type(exc).__name__
    return "ok"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A server data dir holding this session's workdir and another session's secrets."""
    other = tmp_path / "data" / "sandboxes" / "other-session"
    other.mkdir(parents=True)
    (other / "secret.csv").write_text("other session's data")
    (tmp_path / "data" / "analyst.db").write_text("server database")
    workdir = tmp_path / "data" / "sandboxes" / "this-session"
    workdir.mkdir()
    return tmp_path / "data"


@pytest.fixture
def workdir(data_dir: Path) -> Path:
    return data_dir / "sandboxes" / "this-session"


def run_confined(
    isolation: ChildIsolation,
    workdir: Path,
    attack: Callable[[str], object],
    *,
    session_id: str | None = None,
) -> Any:
    """Fork a worker; in it apply the isolation, chdir into the workdir and run `attack(visible
    workdir path)`; return its (picklable) result here. Errors of the worker fail the test.

    The session id names the run's cgroups: unique per call unless given, so that two runs
    (another test suite on the same machine, a concurrent test) never share or release each
    other's."""
    session_id = session_id or f"test-{uuid.uuid4().hex}"
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the children always leave through os._exit
        try:
            os.close(read_end)
            # As in the zygote: the worker's first process comes from `isolation.fork()`
            # (with a pid namespace, the session's init), called single-threaded.
            init = isolation.fork()
            if init == 0:
                try:
                    confined = isolation.apply(str(workdir), session_id)
                    os.chdir(confined.workdir)
                    payload = ("ok", attack(confined.workdir))
                except BaseException:
                    payload = ("error", traceback.format_exc())
                with os.fdopen(write_end, "wb") as pipe:
                    pickle.dump(payload, pipe)
                os._exit(0)
            os.close(write_end)
            os.waitpid(init, 0)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    try:
        isolation.release(session_id)
    finally:
        assert data, "the confined child died without reporting"
    status, value = pickle.loads(data)
    assert status == "ok", f"the confined child failed:\n{value}"
    return value
