"""A worker confined by `ChildIsolation.apply` can do analysis work and nothing else."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox_analyst.sandbox.local.isolation import (
    ChildIsolation,
    IsolationReport,
    IsolationSettings,
    LayerName,
)

from .conftest import outcome, require, run_confined

_libc = ctypes.CDLL(None, use_errno=True)


@pytest.fixture
def isolation(report: IsolationReport, data_dir: Path) -> ChildIsolation:
    settings = IsolationSettings(hidden_paths=(str(data_dir),))
    return ChildIsolation.prepare(settings, report)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP service on the host's own loopback, as a database or the server itself would be."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


def test_no_tcp_even_to_the_hosts_loopback(report, isolation, workdir, listener):
    require(report, LayerName.NETWORK)
    port = listener.getsockname()[1]

    def attack(_: str) -> str:
        return outcome(lambda: socket.create_connection(("127.0.0.1", port), timeout=5))

    assert run_confined(isolation, workdir, attack) == "PermissionError"


def test_no_udp_no_dns(report, isolation, workdir):
    require(report, LayerName.NETWORK)

    def attack(_: str) -> tuple[str, str]:
        def udp() -> None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.sendto(b"x", ("127.0.0.1", 53))

        dns = outcome(lambda: socket.getaddrinfo("sandbox-analyst-test.invalid", 80))
        return outcome(udp), dns

    udp, dns = run_confined(isolation, workdir, attack)
    assert udp == "PermissionError"
    assert dns == "gaierror"


def test_no_netlink_packet_or_vsock_sockets(report, isolation, workdir):
    require(report, LayerName.SECCOMP)

    def attack(_: str) -> list[str]:
        families = (socket.AF_NETLINK, socket.AF_PACKET, socket.AF_VSOCK, socket.AF_INET6)
        return [
            outcome(lambda f=family: socket.socket(f, socket.SOCK_DGRAM)) for family in families
        ]

    assert run_confined(isolation, workdir, attack) == ["PermissionError"] * 4


def test_unix_sockets_still_work(report, isolation, workdir):
    def attack(_: str) -> bytes:
        left, right = socket.socketpair()
        left.sendall(b"ping")
        return right.recv(4)

    assert run_confined(isolation, workdir, attack) == b"ping"


def test_no_abstract_unix_socket_toward_the_host(report, isolation, workdir):
    require(report, LayerName.LANDLOCK_SCOPE)
    name = f"\0analyst-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(name)
        server.listen()

        def attack(_: str) -> str:
            return outcome(lambda: socket.socket(socket.AF_UNIX).connect(name))

        assert run_confined(isolation, workdir, attack) != "ok"


def test_hidden_paths_other_sessions_and_secrets_are_unreadable(
    report, isolation, workdir, data_dir
):
    require(report, LayerName.FILESYSTEM)
    targets = [
        str(data_dir / "analyst.db"),
        str(data_dir / "sandboxes" / "other-session" / "secret.csv"),
        "/etc/shadow",
        f"/proc/{os.getpid()}/environ",
        "/root/.bashrc",
    ]

    def attack(_: str) -> list[str]:
        return [outcome(lambda t=target: Path(t).read_bytes()) for target in targets]

    results = run_confined(isolation, workdir, attack)
    assert "ok" not in results, dict(zip(targets, results, strict=True))


def test_only_the_workdir_and_tmp_are_writable(report, isolation, workdir):
    require(report, LayerName.FILESYSTEM)

    def attack(visible: str) -> dict[str, str]:
        targets = ["/usr/evil", "/etc/evil", "/var/evil", "/evil", "/dev/shm/../evil"]
        outside = {t: outcome(lambda t=t: Path(t).write_text("x")) for t in targets}
        inside = {
            "workdir": outcome(lambda: Path(visible, "result.csv").write_text("a,b\n1,2\n")),
            "tmp": outcome(lambda: Path("/tmp/scratch").write_text("x")),
            "devnull": outcome(lambda: Path("/dev/null").write_text("x")),
        }
        return {**outside, **inside, "visible": visible}

    results = run_confined(isolation, workdir, attack)
    assert results.pop("visible") == "/home/user"
    assert results.pop("workdir") == results.pop("tmp") == results.pop("devnull") == "ok"
    assert "ok" not in results.values(), results
    assert (workdir / "result.csv").read_text() == "a,b\n1,2\n"
    assert not Path("/tmp/scratch").exists()


def test_namespace_mount_ptrace_and_bpf_calls_are_refused(report, isolation, workdir):
    require(report, LayerName.SECCOMP)
    parent = os.getpid()

    def attack(_: str) -> list[int]:
        calls = [
            lambda: _libc.unshare(0x10000000),  # CLONE_NEWUSER
            lambda: _libc.mount(b"none", b"/tmp", b"tmpfs", 0, None),
            lambda: _libc.ptrace(16, parent, None, None),  # PTRACE_ATTACH
            lambda: _libc.syscall(321, 0, None, 0),  # bpf on x86_64; harmless elsewhere
        ]
        errors = []
        for call in calls:
            ctypes.set_errno(0)
            errors.append(ctypes.get_errno() if call() == -1 else 0)
        return errors

    assert run_confined(isolation, workdir, attack)[:3] == [1, 1, 1]  # EPERM


def test_cannot_signal_the_server_but_can_signal_its_own_children(report, isolation, workdir):
    require(report, LayerName.LANDLOCK_SCOPE)
    parent = os.getpid()

    def attack(_: str) -> tuple[str, int]:
        to_parent = outcome(lambda: os.kill(parent, 0))
        child = subprocess.Popen(["sleep", "30"])
        child.send_signal(signal.SIGTERM)
        return to_parent, child.wait(timeout=10)

    to_parent, child_status = run_confined(isolation, workdir, attack)
    # Refused by Landlock; with a pid namespace the server's pid does not even exist inside.
    assert to_parent in ("PermissionError", "ProcessLookupError")
    assert child_status == -signal.SIGTERM


def test_huge_allocation_raises_memory_error(report, isolation, workdir):
    require(report, LayerName.RLIMITS)

    def attack(_: str) -> str:
        import numpy as np

        return outcome(lambda: np.ones(3 * 1024**3 // 8))

    assert run_confined(isolation, workdir, attack) == "MemoryError"


def test_oversized_file_write_is_stopped(report, workdir):
    require(report, LayerName.RLIMITS)
    isolation = ChildIsolation.prepare(IsolationSettings(disk_quota_mb=4), report)

    def attack(visible: str) -> str:
        def write() -> None:
            with open(os.path.join(visible, "big.bin"), "wb") as file:
                file.write(b"\0" * (8 * 1024 * 1024))

        return outcome(write)

    assert run_confined(isolation, workdir, attack) == "OSError"  # EFBIG
    assert (workdir / "big.bin").stat().st_size <= 4 * 1024 * 1024


def test_fork_bomb_hits_the_process_cap(report, workdir):
    require(report, LayerName.CGROUPS)
    isolation = ChildIsolation.prepare(IsolationSettings(max_processes=16), report)

    def attack(_: str) -> tuple[int, str]:
        children, failure = [], "none"
        for _ in range(200):
            try:
                pid = os.fork()
            except OSError as exc:
                failure = type(exc).__name__
                break
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            children.append(pid)
        for pid in children:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        return len(children), failure

    started, failure = run_confined(isolation, workdir, attack)
    assert 1 <= started < 16
    assert failure == "BlockingIOError"  # EAGAIN


def test_analysis_work_still_works(report, isolation, workdir):
    def attack(visible: str) -> dict[str, object]:
        # Forget them first, so that the imports below read the files from disk.
        for name in [n for n in sys.modules if n.startswith(("wave", "sklearn.ensemble"))]:
            del sys.modules[name]
        import wave  # noqa: F401 - stdlib, imported lazily

        from sklearn.ensemble import RandomForestRegressor  # noqa: F401 - site-packages

        listing = subprocess.run(["ls", visible], capture_output=True, text=True, check=True)
        python = subprocess.run(
            [sys.executable, "-c", "import pandas; print(pandas.__name__)"],
            capture_output=True,
            text=True,
            check=True,
        )
        return {
            "ls": listing.stdout,
            "python": python.stdout.strip(),
            "urandom": len(Path("/dev/urandom").open("rb").read(16)),
            "status": "VmRSS" in Path("/proc/self/status").read_text(),
            "cwd": os.getcwd(),
            "uid": os.getuid(),
        }

    (workdir / "upload.csv").write_text("x\n1\n")
    results = run_confined(isolation, workdir, attack)
    assert "upload.csv" in results["ls"].split()
    assert results["python"] == "pandas"
    assert results["urandom"] == 16
    assert results["status"] is True
    expected_uid = isolation.owner[0] if isolation.owner else os.getuid()
    assert results["uid"] == expected_uid


def test_proc_shows_the_sessions_own_processes_only(report, isolation, workdir):
    require(report, LayerName.PID)
    server = os.getpid()

    def attack(_: str) -> dict[str, object]:
        child = subprocess.Popen(["sleep", "30"])
        try:
            pids = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
            own = os.getpid()
        finally:
            child.kill()
            child.wait()
        leaks = {}
        for target in ("cmdline", "status", "mountinfo"):
            leaks[target] = outcome(lambda t=target: Path(f"/proc/{server}/{t}").read_bytes())
        return {"pids": pids, "own": own, "child": child.pid, "leaks": leaks}

    seen = run_confined(isolation, workdir, attack)
    assert seen["own"] == 2  # pid 1 is the session's init
    assert seen["pids"] == [1, 2, seen["child"]]
    assert "ok" not in seen["leaks"].values(), seen["leaks"]


def test_orphans_of_the_code_are_reaped_not_left_as_zombies(report, isolation, workdir):
    require(report, LayerName.PID)

    def attack(_: str) -> list[str]:
        for _ in range(20):  # each `sleep` is orphaned at once, re-parented to pid 1
            subprocess.run(["sh", "-c", "sleep 0.05 &"], check=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            states = []
            for name in os.listdir("/proc"):
                if name.isdigit() and name not in ("1", str(os.getpid())):
                    with contextlib.suppress(OSError):
                        states.append(Path(f"/proc/{name}/stat").read_text().rsplit(")")[1][1])
            if not states:
                return []
            time.sleep(0.05)
        return states

    assert run_confined(isolation, workdir, attack) == []


def test_sysv_ipc_of_the_host_is_out_of_reach_and_the_sessions_ends_with_it(
    report, isolation, workdir
):
    require(report, LayerName.IPC)
    key = 0x5A000000 + os.getpid() % 0x10000
    host_segment = _libc.shmget(key, 4096, 0o1000 | 0o666)  # IPC_CREAT, as another tenant
    assert host_segment >= 0
    try:

        def attack(_: str) -> tuple[int, int]:
            seen = _libc.shmget(key, 0, 0)  # the host's segment
            made = _libc.shmget(key + 1, 4096, 0o1000 | 0o666)
            return seen, made

        seen, made = run_confined(isolation, workdir, attack)
    finally:
        _libc.shmctl(host_segment, 0, None)  # IPC_RMID
    assert seen == -1
    assert made >= 0
    with open("/proc/sysvipc/shm") as listing:
        keys = {int(line.split()[0]) for line in listing.readlines()[1:]}
    assert key + 1 not in keys
