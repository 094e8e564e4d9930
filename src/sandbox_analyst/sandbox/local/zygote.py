"""The zygote: a process that imports the heavy libraries once and forks workers from itself.

Started by the server (`Spawner`, or ahead of need: `zygote_launch`) with an environment built
from scratch, so it holds no secrets; what the settings decide (HOME, thread counts, a
template's import paths) comes with `configure`. It stays single-threaded (fork and threads
do not mix) and speaks JSON datagrams on a SOCK_SEQPACKET control socket:

    server -> zygote:  {"op": "configure", ...ZygoteConfig}   (once, first)
                       {"op": "spawn", "worker_id", "sandbox_id", "workdir"}
    zygote -> server:  {"type": "hello", "threads": n, "owner": [uid, gid] | null}
                       {"type": "preloaded", "preloaded": [...], "failed": {...}, "threads": n}
                       {"type": "spawned", "worker_id", "pid"}  + the worker's socket (SCM_RIGHTS),
                           and with controlled egress the server's end of its egress channel
                       {"type": "spawn_failed", "worker_id", "error"}
                       {"type": "exited", "pid", "signal", "code", "oom_killed"}

`hello` comes as soon as workers can be forked; the preload list is imported after it, in
its order (most used first), one module at a time, with a spawn request served between two
imports. So a session asked for early gets a worker at once, with what is
loaded so far (its code imports the rest itself), and `preloaded` says when the list is done.

Run as `python -m sandbox_analyst.sandbox.local.zygote CONTROL_FD PARENT_PID`.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
import threading
import traceback
from typing import Any

from sandbox_analyst.sandbox.local.isolation import (
    ChildIsolation,
    harden_current_process,
    pid_namespace,
)
from sandbox_analyst.sandbox.local.isolation.wire import isolation_from_wire
from sandbox_analyst.sandbox.local.worker import WorkerConfig, run_worker
from sandbox_analyst.sandbox.local.worker.shell import create_shell
from sandbox_analyst.sandbox.local.worker_exit import WorkerExit
from sandbox_analyst.sandbox.local.zygote_launch import PACKAGE_ROOT

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent(expected_parent: int, parent_pidfd: int | None = None) -> None:
    """Ask the kernel to SIGKILL us when our parent dies; never outlive a dead server."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # Did the parent die before prctl took effect? In a new pid namespace getppid() is 0
    # whatever happened: there the parent's pidfd (readable once it exited) tells.
    if parent_pidfd is not None:
        gone = bool(select.select([parent_pidfd], [], [], 0)[0])
    else:
        gone = os.getppid() != expected_parent
    if gone:
        os._exit(1)


class Zygote:
    def __init__(self, control: socket.socket, config: dict[str, Any]) -> None:
        self.control = control
        self.config = config
        self.isolation: Any = None
        self.pid = os.getpid()
        # pid -> (worker_id, where its init reports the worker's wait status, if it has one)
        self.workers: dict[int, tuple[str, int | None]] = {}
        self.pidfd: int | None = None
        self.to_preload: list[str] = list(config.get("preload", []))
        self.loaded: list[str] = []
        self.shell_built = False
        self.failed: dict[str, str] = {}
        self._wakeup_r, self._wakeup_w = os.pipe()
        os.set_blocking(self._wakeup_w, False)
        os.set_blocking(self._wakeup_r, False)

    def build_shell(self) -> None:
        """What every worker needs whatever its code imports: the shell and its tracebacks.
        Built after the preload list (matplotlib, for one, sets itself up differently when
        a shell exists at import, and the first interrupt in a worker then takes seconds),
        or earlier when a worker is asked for before the list is done."""
        if self.shell_built:
            return
        _warm_tracebacks()
        create_shell()
        self.shell_built = True

    def preload_next(self) -> None:
        """Import the next module of the preload list; `preloaded` is sent after the last."""
        name = self.to_preload.pop(0)
        try:
            importlib.import_module(name)
            self.loaded.append(name)
        except Exception as exc:  # a missing optional library is not fatal
            self.failed[name] = f"{type(exc).__name__}: {exc}"
        if name == "matplotlib.pyplot" and name in sys.modules:
            _warm_matplotlib()
        elif name == "pandas" and name in sys.modules:
            _warm_pandas()
        if not self.to_preload:
            self.report_preloaded()

    def report_preloaded(self) -> None:
        self.build_shell()
        _freeze_shared_objects()
        self._send(
            {
                "type": "preloaded",
                "preloaded": self.loaded,
                "failed": self.failed,
                "threads": threading.active_count(),
            }
        )

    def prepare_isolation(self) -> None:
        """Resolve paths and compile the seccomp program once, for every future worker."""
        wire = self.config.get("isolation")
        if wire:
            harden_current_process()
            settings, report = isolation_from_wire(wire)
            self.isolation = ChildIsolation.prepare(settings, report)
            if self.isolation.pid:
                self.pidfd = os.pidfd_open(os.getpid())

    def serve(self) -> None:
        signal.set_wakeup_fd(self._wakeup_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        while True:
            # While modules remain to preload, only look for requests; never wait for them.
            wait = 0 if self.to_preload else None
            readable, _, _ = select.select([self.control, self._wakeup_r], [], [], wait)
            if not readable and self.to_preload:
                self.preload_next()
                continue
            if self._wakeup_r in readable:
                _drain(self._wakeup_r)
                self.reap()
            if self.control in readable:
                try:
                    data = self.control.recv(1 << 16)
                except InterruptedError:
                    continue
                if not data:
                    return  # the server is gone; our workers die with us
                request = json.loads(data)
                if request.get("op") == "spawn":
                    self.spawn(request)

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker_id, exit_report = self.workers.pop(pid, (None, None))
            if exit_report is not None:
                # `pid` was the session's init: what matters is how the worker itself ended.
                reported = pid_namespace.reported_status(exit_report)
                os.close(exit_report)
                status = status if reported is None else reported
            oom_kills = 0
            if worker_id is not None and self.isolation is not None:
                # Read before the cgroup goes: it alone tells an OOM kill from any SIGKILL.
                oom_kills = self.isolation.oom_kills(worker_id)
                try:
                    self.isolation.release(worker_id)
                except Exception:  # a leftover cgroup must not take every session down
                    traceback.print_exc()
            ended = WorkerExit.from_wait_status(status, oom_kills=oom_kills)
            self._send({"type": "exited", "pid": pid, **ended.to_wire()})

    def spawn(self, request: dict[str, Any]) -> None:
        worker_id = request["worker_id"]
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # The egress relay hands the connections it accepts to the server over this one.
        egress = (
            socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            if self.config.get("egress")
            else None
        )
        report_r, report_w = os.pipe() if self.pidfd is not None else (None, None)
        if self.to_preload:
            self.build_shell()
            gc.freeze()  # what is imported so far is shared with this worker, as after preload
        try:
            pid = self.isolation.fork() if self.isolation is not None else os.fork()
        except OSError as exc:
            for fd in (report_r, report_w):
                if fd is not None:
                    os.close(fd)
            for end in (ours, theirs, *(egress or ())):
                end.close()
            self._send({"type": "spawn_failed", "worker_id": worker_id, "error": str(exc)})
            return
        if pid == 0:
            egress_end = egress[1] if egress is not None else None
            self._become_worker(theirs, request, report_w, egress_end)  # never returns
        theirs.close()
        if report_w is not None:
            os.close(report_w)
        self.workers[pid] = (worker_id, report_r)
        payload = json.dumps({"type": "spawned", "worker_id": worker_id, "pid": pid}).encode()
        fds = [ours.fileno()]
        if egress is not None:
            egress[1].close()
            fds.append(egress[0].fileno())
        socket.send_fds(self.control, [payload], fds)
        ours.close()
        if egress is not None:
            egress[0].close()

    def _become_worker(
        self,
        sock: socket.socket,
        request: dict[str, Any],
        exit_report: int | None,
        egress: socket.socket | None,
    ) -> None:
        code = 1
        try:
            die_with_parent(self.pid, self.pidfd)
            os.setsid()  # own process group: a kill reaches the code's subprocesses too
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            egress_fd = egress.fileno() if egress is not None else None
            _close_fds_except(sock.fileno(), exit_report, egress_fd)
            config = WorkerConfig(
                workdir=request["workdir"],
                sandbox_id=request["worker_id"],
                output_limit=self.config["output_limit"],
                figure_dpi=self.config["figure_dpi"],
                environment=self.config["worker_environment"],
                egress_channel=egress_fd,
                interrupt_grace=float(self.config.get("interrupt_grace", 2.0)),
            )
            run_worker(sock, config, self.isolation, exit_report)
            code = 0
        except BaseException:
            try:
                traceback.print_exc()
                sys.stderr.flush()
            finally:
                os._exit(1)
        os._exit(code)

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self.control.send(json.dumps(message).encode())
        except OSError:
            os._exit(0)  # the server is gone


def _freeze_shared_objects() -> None:
    # Objects imported so far are shared copy-on-write with every worker; freezing keeps the
    # garbage collector from touching (and so copying) their pages in each child.
    gc.collect()
    gc.freeze()


def _warm_matplotlib() -> None:
    # Loads fonts and the Agg renderer once, so no worker pays for it (~0.4 s each otherwise).
    import io

    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.plot([0, 1], [0, 1])
    axes.set_title("warm-up")
    figure.savefig(io.BytesIO(), format="png")
    plt.close("all")


def _warm_pandas() -> None:
    import pandas as pd

    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    frame.to_html()
    repr(frame)
    frame.groupby("b").sum()


def _warm_tracebacks() -> None:
    # IPython's traceback formatter imports and primes its helpers lazily (~170 ms on the
    # first error); do it once here instead of in every worker's first failing cell.
    from IPython.core import ultratb

    formatter = ultratb.AutoFormattedTB(mode="Context", theme_name="nocolor")
    try:
        raise ValueError("warm-up")
    except ValueError:
        formatter.text(*sys.exc_info())


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _close_fds_except(*keep: int | None) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _apply_settings(request: dict[str, Any]) -> None:
    # Launched with an environment that holds nothing the settings decide (`zygote_launch`):
    # they come now, before anything in the preload list reads them (numpy its thread counts,
    # matplotlib its config directory), and a template's overlay goes right after the engine's
    # own package on the import path.
    os.environ.update(request.get("environment", {}))
    paths = [path for path in request.get("import_paths", []) if path not in sys.path]
    if paths:
        engine = sys.path.index(PACKAGE_ROOT) + 1 if PACKAGE_ROOT in sys.path else len(sys.path)
        sys.path[engine:engine] = paths
        importlib.invalidate_caches()


def main(argv: list[str]) -> None:
    control = socket.socket(fileno=int(argv[1]))
    die_with_parent(int(argv[2]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when we stop
    data = control.recv(1 << 20)
    if not data:
        return  # launched ahead and never wanted: the control socket was closed
    request = json.loads(data)
    _apply_settings(request)
    zygote = Zygote(control, request)
    zygote.prepare_isolation()
    _freeze_shared_objects()
    zygote._send(
        {
            "type": "hello",
            "threads": threading.active_count(),
            "owner": zygote.isolation.owner if zygote.isolation is not None else None,
        }
    )
    if not zygote.to_preload:
        zygote.report_preloaded()
    zygote.serve()


if __name__ == "__main__":
    main(sys.argv)
