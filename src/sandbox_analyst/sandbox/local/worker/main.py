"""The worker's life: set up in the freshly forked child, then serve `execute` requests.

Runs inside the zygote's child. Everything here happens before the worker is offered to a
session, so the cost is paid ahead of time, never on the acquire path.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import resource
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox_analyst.sandbox.local.worker import figures
from sandbox_analyst.sandbox.local.worker.capture import OutputCapture
from sandbox_analyst.sandbox.local.worker.channel import ServerChannel
from sandbox_analyst.sandbox.local.worker.command import environment, find_bash, run_command
from sandbox_analyst.sandbox.local.worker.egress_relay import start_relay
from sandbox_analyst.sandbox.local.worker.import_paths import add_import_path
from sandbox_analyst.sandbox.local.worker.r_session import (
    R_SESSION_ENDED,
    ROutcome,
    RSession,
    find_rscript,
    plot_bundle,
)
from sandbox_analyst.sandbox.local.worker.shell import WorkerShell, attach_shell

_TRIM_AFTER = 0.05  # seconds a cell must run before its freed memory is handed back
_libc = ctypes.CDLL(None)


@dataclass(frozen=True)
class WorkerConfig:
    """What the zygote tells each child; plain data, no secrets."""

    workdir: str
    sandbox_id: str
    output_limit: int
    figure_dpi: int
    environment: dict[str, str] = field(default_factory=dict)
    egress_channel: int | None = None
    """Descriptor of the worker's end of its egress channel (controlled egress only)."""
    interrupt_grace: float = 2.0
    """Seconds the server waits for interrupted code to stop before it kills the worker."""


class Worker:
    def __init__(
        self, channel: ServerChannel, config: WorkerConfig, cwd: str, host_pid: int
    ) -> None:
        self.channel = channel
        self.config = config
        self.cwd = cwd
        self.host_pid = host_pid
        self._executing = False
        signal.signal(signal.SIGINT, self._on_sigint)
        self.capture = OutputCapture(channel, config.output_limit)
        self.shell: WorkerShell = attach_shell(channel)
        self.figures = figures.FigureCapture(self.shell, config.figure_dpi)
        self.figures.install()
        figures.current = self.figures
        self.bash = find_bash()
        self.rscript = find_rscript()
        self.r: RSession | None = None

    def languages(self) -> list[str]:
        found = ["python"]
        if self.bash is not None:
            found.append("bash")
        if importlib.util.find_spec("duckdb") is not None:
            found.append("sql")
        if self.rscript is not None:
            found.append("r")
        return found

    def _on_sigint(self, signum: int, frame: Any) -> None:
        # Interrupts are meant for user code only; one arriving between executions (a late
        # timeout, a stray Ctrl-C) must not kill the serve loop.
        if self._executing:
            raise KeyboardInterrupt

    def serve(self) -> None:
        # Whatever was printed while setting up goes out before `ready`: it belongs to no
        # execution, and the server logs it instead of showing it in the first one.
        self.capture.drain()
        self.channel.send(
            {
                "type": "ready",
                "pid": self.host_pid,
                "cwd": self.cwd,
                "languages": self.languages(),
            }
        )
        while True:
            request = self.channel.receive()
            if request is None:
                return
            op = request.get("op")
            env = _string_map(request.get("env"))
            if op == "execute":
                with environment(env):
                    self.execute(str(request.get("code", "")))
            elif op == "r":
                self.execute_r(str(request.get("code", "")), env)
            elif op == "command":
                cwd = request.get("cwd")
                self.command(str(request.get("command", "")), cwd and str(cwd), env)
            elif op == "setenv":
                os.environ.update(env)
                self.channel.send({"type": "done", "peak_memory": _peak_memory()})
            elif op == "import_path":
                add_import_path(os.path.join(self.cwd, str(request.get("path", ""))))
                self.channel.send({"type": "done", "peak_memory": _peak_memory()})
            elif op == "ping":
                self.channel.send({"type": "pong"})

    def command(self, command: str, cwd: str | None, env: dict[str, str]) -> None:
        cpu_before = _cpu_seconds()
        self.capture.begin()
        self._executing = True
        try:
            outcome = run_command(self.bash, command, self.cwd, cwd, env)
        finally:
            self._executing = False
        self.capture.drain()
        self.channel.send(
            {
                "type": "done",
                "exit_code": outcome.exit_code,
                "error": outcome.error,
                "dropped": self.capture.dropped,
                "peak_memory": _peak_memory(),
                "cpu_seconds": _cpu_seconds() - cpu_before,
            }
        )

    def execute_r(self, code: str, env: dict[str, str]) -> None:
        cpu_before = _cpu_seconds()
        self.capture.begin()
        if self.rscript is None:
            outcome = ROutcome("lost", note="R is not installed in this sandbox")
        else:
            if self.r is None:
                # Half the server's grace: R that ignores the interrupt is killed in time for
                # the worker to answer, so the server never has to kill the worker (and
                # Python's state) for it.
                grace = self.config.interrupt_grace / 2
                self.r = RSession(self.rscript, self.config.figure_dpi, grace)
            self._executing = True
            try:
                outcome = self.r.run(code, env)
            finally:
                self._executing = False
        self.capture.drain()
        for number, png in enumerate(outcome.plots, start=1):
            self.channel.send({"type": "result", "bundle": plot_bundle(png, number), "main": False})
        if outcome.note:
            self.channel.send({"type": "stderr", "text": f"[{outcome.note}]\n"})
        error = _r_error(outcome)
        if error is not None:
            self.channel.send({"type": "error", **error})
        self.channel.send(
            {
                "type": "done",
                "execution_count": None,
                "dropped": self.capture.dropped,
                "peak_memory": _peak_memory(),
                "cpu_seconds": _cpu_seconds() - cpu_before,
            }
        )

    def execute(self, code: str) -> None:
        started = time.perf_counter()
        cpu_before = _cpu_seconds()
        self.capture.begin()
        execution_count = None
        try:
            self._executing = True
            try:
                result = self.shell.run_cell(code, store_history=True)
                execution_count = result.execution_count
                self.figures.end_of_cell()
            finally:
                self._executing = False
        except KeyboardInterrupt:
            # Landed outside run_cell's own handling (e.g. while closing figures).
            self.shell.showtraceback()
        except BaseException:
            self.shell.showtraceback()
        self.capture.drain()
        if time.perf_counter() - started > _TRIM_AFTER:
            # Give freed heap back to the OS so idle sessions stay small (~7 MB after a
            # typical pandas + plot cell); not worth its cost after quick cells.
            _libc.malloc_trim(0)
        self.channel.send(
            {
                "type": "done",
                "execution_count": execution_count,
                "dropped": self.capture.dropped,
                "peak_memory": _peak_memory(),
                "cpu_seconds": _cpu_seconds() - cpu_before,
            }
        )


def run_worker(
    sock: socket.socket, config: WorkerConfig, isolation: Any = None, exit_report: int | None = None
) -> None:
    """Entry point in the forked child; returns when the server closes the channel.

    `isolation` (a `ChildIsolation`) is applied first, while the process is still
    single-threaded and before any user-reachable state exists. With a pid namespace, the
    process that called this stays behind in `apply` as the session's init (reporting on
    `exit_report`), and the worker it forks goes on here.
    """
    os.environ.clear()
    os.environ.update(config.environment)
    _fresh_command_line()
    cwd, host_pid = config.workdir, os.getpid()
    if isolation is not None:
        confined = isolation.apply(config.workdir, config.sandbox_id, exit_report=exit_report)
        cwd, host_pid = confined.workdir, confined.host_pid
        if confined.egress_listener is not None and config.egress_channel is not None:
            start_relay(confined.egress_listener, config.egress_channel)
        if not isolation.private_tmp:
            # The host's /tmp is shared with everyone (and not writable inside): keep
            # temporary files in a hidden directory of the session's own workdir.
            os.environ["TMPDIR"] = os.path.join(cwd, ".tmp")
            os.makedirs(os.environ["TMPDIR"], exist_ok=True)
    os.chdir(cwd)
    os.environ["HOME"] = cwd
    os.environ["PWD"] = cwd
    _reseed_random()
    channel = ServerChannel(sock)
    Worker(channel, config, cwd, host_pid).serve()


def _fresh_command_line() -> None:
    # The zygote's own command line (module path, descriptor numbers) means nothing to user
    # code and reveals where the server is installed; `unittest.main()` and argparse read it.
    # An interactive interpreter has exactly this.
    sys.argv = [""]
    sys.orig_argv = [sys.executable]


def _peak_memory() -> int:
    """The larger of this worker's high-water resident memory and its largest finished
    child's, in bytes (Linux reports kilobytes). Not their sum: a child's figure starts from
    the worker's own resident set, which it shares until it execs, so a sum would count the
    worker twice for every `subprocess.run`."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # The kernel's resident-set counters are cached per thread and may read a little lower
    # later: keep our own maximum, so that the reported peak never goes down.
    _peak_seen[0] = max(_peak_seen[0], own * 1024, children * 1024)
    return _peak_seen[0]


_peak_seen = [0]


def _cpu_seconds() -> float:
    """CPU time (user + system) this worker and its finished children have used: a cell's is
    the difference, its subprocesses included once they have ended."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _r_error(outcome: ROutcome) -> dict[str, str] | None:
    if outcome.kind == "error" and outcome.error is not None:
        name, value, report = outcome.error
        return {"name": name, "value": value, "traceback": report}
    if outcome.kind == "interrupted":
        return {"name": "KeyboardInterrupt", "value": "the R code was interrupted", "traceback": ""}
    if outcome.kind == "lost":
        return {"name": R_SESSION_ENDED, "value": outcome.note, "traceback": ""}
    return None


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(key): str(item) for key, item in value.items()}


def _reseed_random() -> None:
    # Python's `random` reseeds itself at fork; numpy's global RNG does not, so every
    # worker forked from the same zygote would draw the same "random" numbers.
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(int.from_bytes(os.urandom(4), "little"))
