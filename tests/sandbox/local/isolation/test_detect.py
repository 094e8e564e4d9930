"""`detect` claims only what holds, and `apply` enforces only what the report claims."""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import socket
from pathlib import Path

from sandbox_analyst.sandbox.local.isolation import (
    ChildIsolation,
    IsolationReport,
    IsolationSettings,
    LayerName,
    LayerStatus,
    detect,
)

from .conftest import outcome, require, run_confined


def _only(report: IsolationReport, *names: LayerName) -> IsolationReport:
    """The same report with every layer but `names` marked unavailable."""
    return IsolationReport(
        tuple(
            layer
            if layer.name in names
            else dataclasses.replace(layer, status=LayerStatus.UNAVAILABLE, detail="test")
            for layer in report.layers
        )
    )


def test_every_layer_is_probed_and_named(report):
    assert [layer.name for layer in report.layers] == list(LayerName)
    for layer in report.layers:
        assert layer.detail
        assert layer.active or layer.remedy or layer.status is LayerStatus.DISABLED


def test_allow_network_disables_the_network_layer_and_really_allows_it(tmp_path):
    settings = IsolationSettings(allow_network=True)
    report = detect(settings)
    assert report.layer(LayerName.NETWORK).status is LayerStatus.DISABLED
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        isolation = ChildIsolation.prepare(settings, report)

        def attack(_: str) -> str:
            return outcome(lambda: socket.create_connection(("127.0.0.1", port), timeout=5))

        assert run_confined(isolation, tmp_path, attack) == "ok"
    assert report.level in ("basic", "none")


def test_layers_not_reported_active_are_not_applied(report, tmp_path):
    isolation = ChildIsolation.prepare(IsolationSettings(), _only(report, LayerName.RLIMITS))
    outside = tmp_path / "outside.txt"

    def attack(visible: str) -> tuple[str, str]:
        return visible, outcome(lambda: outside.write_text("written"))

    visible, write = run_confined(isolation, tmp_path / "", attack)
    assert visible == str(tmp_path)
    assert write == "ok"


def test_landlock_alone_confines_the_filesystem(report, workdir, data_dir):
    require(report, LayerName.LANDLOCK)
    isolation = ChildIsolation.prepare(
        IsolationSettings(hidden_paths=(str(data_dir),)),
        _only(report, LayerName.LANDLOCK, LayerName.RLIMITS),
    )
    secret = data_dir / "sandboxes" / "other-session" / "secret.csv"

    def attack(visible: str) -> dict[str, str]:
        return {
            "visible": visible,
            "secret": outcome(secret.read_text),
            "shadow": outcome(Path("/etc/shadow").read_text),
            "write /var/tmp": outcome(
                lambda: Path("/var/tmp/analyst-landlock-test").write_text("x")
            ),
            "workdir": outcome(lambda: Path(visible, "out.txt").write_text("x")),
            "stdlib": outcome(lambda: __import__("tomllib")),
        }

    results = run_confined(isolation, workdir, attack)
    assert results == {
        "visible": str(workdir),
        "secret": "PermissionError",
        "shadow": "PermissionError",
        "write /var/tmp": "PermissionError",
        "workdir": "ok",
        "stdlib": "ok",
    }


def test_without_an_ipc_namespace_seccomp_refuses_sysv_ipc(report, tmp_path):
    require(report, LayerName.SECCOMP)
    isolation = ChildIsolation.prepare(
        IsolationSettings(), _only(report, LayerName.SECCOMP, LayerName.RLIMITS)
    )
    libc = ctypes.CDLL(None, use_errno=True)

    def attack(_: str) -> tuple[int, int]:
        ctypes.set_errno(0)
        made = libc.shmget(0, 4096, 0o600)  # IPC_PRIVATE
        return made, ctypes.get_errno()

    assert run_confined(isolation, tmp_path, attack) == (-1, errno.EPERM)


def test_a_pid_namespace_is_applied_only_with_a_mount_namespace_for_its_proc(report):
    require(report, LayerName.PID)
    without_mounts = _only(report, LayerName.PID, LayerName.RLIMITS)
    assert not ChildIsolation.prepare(IsolationSettings(), without_mounts).pid
    assert ChildIsolation.prepare(IsolationSettings(), report).pid
