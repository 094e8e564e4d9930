"""R cells in a worker: one R process per session, started on the first R cell and kept for the
session's life, so R's variables persist across cells like Python's.

R is a child of the worker, so it runs under the worker's isolation (namespaces, Landlock,
seccomp, rlimits, cgroup) in the session's workdir, in a process group of its own that dies
with the worker. It writes straight to the worker's stdout and stderr pipes: its output reaches
the server through the same capture, and the same byte budget, as a Python cell's. Cells and
their outcomes travel on two pipes of their own (`r_driver.R` describes the messages), which R
opens through /proc/self/fd, so that nothing the user's code prints or reads can be taken for
them. Plots are PNG files the driver's graphics device writes into a private directory; each
comes back as an image result.

An interrupt (a time limit, a cancelled call) is passed on to R as SIGINT, which stops the
running R code and keeps R's state. R stuck where it does not look at interrupts is killed
after a grace period: R's variables are lost, the worker's Python state is kept.
"""

from __future__ import annotations

import base64
import contextlib
import os
import select
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sandbox_analyst.sandbox.local.worker.command import die_with

R_SESSION_ENDED = "RSessionEnded"
"""The error of an R cell whose R process ended (R's state lost, Python's kept)."""
DRIVER = Path(__file__).with_name("r_driver.R")
_BROKEN = (
    "R's channel to the worker broke, so R was ended: R's variables are gone (Python's are "
    "kept); the next R cell starts a new R session"
)
_START_TIMEOUT = 60.0  # seconds R may take to load its base packages
_PLOT_INCHES = (7.0, 5.0)


def find_rscript() -> str | None:
    return shutil.which("Rscript", path=os.environ.get("PATH"))


@dataclass
class ROutcome:
    """How an R cell ended: "ok", "error" (`error` holds class, message and R's report),
    "interrupted" or "lost" (R ended or had to be killed: `note` says why)."""

    kind: str
    error: tuple[str, str, str] | None = None
    note: str = ""
    plots: list[bytes] = field(default_factory=list)


class RSessionError(Exception):
    """R could not be started."""


class RSession:
    def __init__(self, rscript: str, figure_dpi: int, grace: float) -> None:
        self._rscript = rscript
        self._dpi = figure_dpi
        self._grace = grace
        self._process: subprocess.Popen[bytes] | None = None
        self._requests: int | None = None
        self._replies: _Replies | None = None
        self._env_at_start: dict[str, str] = {}
        self._plot_dir = ""

    def run(self, code: str, env: Mapping[str, str]) -> ROutcome:
        """Run one cell with `env` added to its environment. A KeyboardInterrupt (the
        server's SIGINT) is passed on to R."""
        try:
            if self._process is None:
                self._start()
            self._send([code, *self._env_fields(env)])
            return self._finished(self._reply(None))
        except KeyboardInterrupt:
            return self._interrupt()
        except RSessionError as exc:
            return ROutcome("lost", note=str(exc))
        except ValueError:  # a reply that is not one: whatever R became, it is not the driver
            return ROutcome("lost", note=self._end(_BROKEN))

    def _start(self) -> None:
        requests_read, requests_write = os.pipe()
        replies_read, replies_write = os.pipe()
        self._plot_dir = tempfile.mkdtemp(prefix="r-plots-")
        width, height = (round(inches * self._dpi) for inches in _PLOT_INCHES)
        self._env_at_start = dict(os.environ)
        command = [
            self._rscript,
            "--no-save",
            "--no-restore",
            "--no-init-file",  # a `.Rprofile` in the workdir is user data, not configuration
            str(DRIVER),
            f"/proc/self/fd/{requests_read}",
            f"/proc/self/fd/{replies_write}",
            self._plot_dir,
            str(width),
            str(height),
            str(self._dpi),
        ]
        try:
            self._process = subprocess.Popen(
                command,
                cwd=os.getcwd(),  # where Python works: the workdir, or a context's directory
                # Font and other caches go to temporary space, not into the user's files.
                env={**os.environ, "XDG_CACHE_HOME": os.path.join(tempfile.gettempdir(), ".cache")},
                stdin=subprocess.DEVNULL,
                pass_fds=(requests_read, replies_write),
                process_group=0,
                preexec_fn=die_with(os.getpid()),
            )
        except OSError as exc:
            for fd in (requests_write, replies_read):
                os.close(fd)
            shutil.rmtree(self._plot_dir, ignore_errors=True)
            self._plot_dir = ""
            raise RSessionError(f"R could not start: {exc}") from None
        finally:
            os.close(requests_read)
            os.close(replies_write)
        self._requests = requests_write
        self._replies = _Replies(replies_read)
        reply = self._reply(_START_TIMEOUT)
        if reply is None or reply[0] != "ready":
            self._end("")
            raise RSessionError("R did not start: " + _describe(reply, "no answer"))

    def _env_fields(self, env: Mapping[str, str]) -> list[str]:
        # What changed since R started (variables set for the session since) and this cell's
        # own: set in R for the cell, then put back.
        changed = {
            name: value
            for name, value in os.environ.items()
            if self._env_at_start.get(name) != value
        }
        changed.update(env)
        return [item for pair in changed.items() for item in pair]

    def _send(self, fields: list[str]) -> None:
        assert self._requests is not None
        encoded = [text.encode("utf-8", "surrogatepass") for text in fields]
        message = f"{len(encoded)}\n".encode() + b"".join(
            f"{len(data)}\n".encode() + data for data in encoded
        )
        try:
            with _sigint_held():
                view = memoryview(message)
                while view:
                    view = view[os.write(self._requests, view) :]
        except OSError:
            raise RSessionError(self._ended("R ended before it could run the cell")) from None

    def _reply(self, timeout: float | None) -> tuple[str, list[str]] | None:
        assert self._replies is not None
        return self._replies.next(timeout)

    def _finished(self, reply: tuple[str, list[str]] | None) -> ROutcome:
        if reply is None:
            return ROutcome("lost", note=self._ended("the R process ended while running the cell"))
        kind, fields = reply
        plots = self._collect_plots()
        if kind == "error" and len(fields) == 3:
            return ROutcome("error", (fields[0], fields[1], fields[2]), plots=plots)
        if kind in ("ok", "interrupted"):
            return ROutcome(kind, plots=plots)
        return ROutcome("lost", note=self._end(_BROKEN))

    def _interrupt(self) -> ROutcome:
        if self._process is None:  # interrupted before R started
            return ROutcome("interrupted")
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._process.pid, signal.SIGINT)
        with _sigint_held():
            reply = self._reply(self._grace)
            if reply is not None and reply[0] == "ready":  # interrupted while R started
                return ROutcome("interrupted")
            if reply is not None:
                outcome = self._finished(reply)
                return outcome if outcome.kind == "lost" else ROutcome("interrupted")
            note = self._end(
                "R did not stop when interrupted and was ended: R's variables are gone "
                "(Python's are kept); the next R cell starts a new R session"
            )
        return ROutcome("interrupted", note=note)

    def _ended(self, what: str) -> str:
        process, status = self._process, None
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                status = process.wait(self._grace)
        self._end("")
        how = ""
        if status is not None:
            how = f" (killed by signal {-status})" if status < 0 else f" (exit status {status})"
        return (
            f"{what}{how}: R's variables are gone (Python's are kept); the next R cell starts "
            "a new R session"
        )

    def _end(self, note: str) -> str:
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if self._requests is not None:
            os.close(self._requests)
            self._requests = None
        if self._replies is not None:
            self._replies.close()
            self._replies = None
        if self._plot_dir:
            shutil.rmtree(self._plot_dir, ignore_errors=True)
            self._plot_dir = ""
        return note

    def _collect_plots(self) -> list[bytes]:
        plots = []
        for name in sorted(os.listdir(self._plot_dir)):
            path = os.path.join(self._plot_dir, name)
            with contextlib.suppress(OSError):
                with open(path, "rb") as file:
                    plots.append(file.read())
                os.unlink(path)
        return plots


def plot_bundle(png: bytes, number: int) -> dict[str, str]:
    return {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": f"<R plot {number}>"}


class _Replies:
    """R's end of the replies pipe, read message by message."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = b""

    def next(self, timeout: float | None) -> tuple[str, list[str]] | None:
        """The next message; None when R closed the pipe (it ended) or `timeout` passed."""
        header = self._line(timeout)
        if header is None:
            return None
        kind, _, count = header.partition(" ")
        fields = []
        for _ in range(int(count or 0)):
            size = self._line(timeout)
            if size is None:
                return None
            data = self._exactly(int(size), timeout)
            if data is None:
                return None
            fields.append(data.decode("utf-8", "replace"))
        return kind, fields

    def close(self) -> None:
        os.close(self._fd)

    def _line(self, timeout: float | None) -> str | None:
        while b"\n" not in self._buffer:
            if not self._fill(timeout):
                return None
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("ascii", "replace")

    def _exactly(self, size: int, timeout: float | None) -> bytes | None:
        while len(self._buffer) < size:
            if not self._fill(timeout):
                return None
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _fill(self, timeout: float | None) -> bool:
        # Waiting is where an interrupt lands; reading itself is never cut in half.
        readable, _, _ = select.select([self._fd], [], [], timeout)
        if not readable:
            return False
        with _sigint_held():
            data = os.read(self._fd, 1 << 16)
        self._buffer += data
        return bool(data)


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _describe(reply: tuple[str, list[str]] | None, default: str) -> str:
    if reply is None:
        return default
    return " ".join([reply[0], *reply[1]])
