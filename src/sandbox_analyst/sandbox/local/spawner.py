"""Server side of the zygote: start it, ask it for workers, learn when they exit."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox_analyst.sandbox.base import LANGUAGES
from sandbox_analyst.sandbox.errors import SandboxStartError
from sandbox_analyst.sandbox.local.protocol import (
    FrameTooLargeError,
    ProtocolError,
    TruncatedFrameError,
    encode,
    read_frame,
)
from sandbox_analyst.sandbox.local.worker_exit import WorkerExit
from sandbox_analyst.sandbox.local.zygote_launch import (
    adopt_launched,
    launch_environment,
    launch_zygote,
)

log = logging.getLogger(__name__)

# A worker that sends more than this without being read is flooding the server.
_MAX_QUEUED_BYTES = 256 * 1024 * 1024
_READY_TIMEOUT = 60.0
_MAX_LOGGED_OUTPUT = 2000  # characters of a worker's start-up output kept in the log


@dataclass(frozen=True)
class ZygoteConfig:
    """Everything the zygote needs: plain data, never a secret."""

    preload: list[str]
    output_limit: int
    figure_dpi: int
    worker_environment: dict[str, str]
    settings_environment: dict[str, str] = field(default_factory=dict)
    """Set in its environment when it is configured, before it imports the preload list (it is
    launched with `zygote_launch.launch_environment()`, the same for every zygote)."""
    import_paths: list[str] = field(default_factory=list)
    """A template's overlay: on its import path (after the engine's package) once configured."""
    isolation: dict[str, Any] | None = None
    egress: bool = False
    """Give every worker an egress channel (controlled egress, see `sandbox.egress`)."""
    interrupt_grace: float = 2.0
    """Seconds interrupted code gets to stop before its worker is killed."""


@dataclass(frozen=True)
class Lost:
    """Queued in place of a frame once the worker's channel is broken, for good."""

    reason: str
    """What broke the channel, as seen from our side ("its channel closed", a protocol
    violation, a failed write); how the process ended is `WorkerProcess.exit`."""
    violation: bool = False
    """True when we killed the worker for what it sent (an oversized or malformed frame, a
    flood): then the violation, not the SIGKILL that followed, is what happened."""


@dataclass(eq=False)
class WorkerProcess:
    """One forked worker and our end of its channel.

    Every transport failure on the channel (end of stream, a frame cut short, a reset or broken
    pipe on write, any other OSError) ends up in `_lose`: the worker is killed and `Lost` is
    queued, so callers learn of it in one way only, from `next_frame()` (and `send()` returns
    False). Nothing about a broken channel is ever raised to them.
    """

    worker_id: str
    pid: int
    cwd: str
    workdir: Path
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    exit: asyncio.Future[WorkerExit]
    egress: socket.socket | None = None
    """Our end of the worker's egress channel: its relay sends the connections it accepts."""
    languages: tuple[str, ...] = ("python",)
    """What the worker said it can run, in its `ready` frame."""
    started: float = field(default_factory=time.monotonic)
    frames: asyncio.Queue[tuple[dict[str, Any], int] | Lost] = field(default_factory=asyncio.Queue)
    queued_bytes: int = 0
    lost: Lost | None = None
    _pump: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self.lost is None and not self.exit.done() and not self.writer.is_closing()

    def start_reading(self) -> None:
        self._pump = asyncio.get_running_loop().create_task(self._read_frames())

    async def _read_frames(self) -> None:
        # One reader for the worker's whole life: frames are never half-read by a cancelled
        # caller, so timeouts and cancellations cannot break the framing.
        try:
            while True:
                frame = await read_frame(self.reader)
                if frame is None:
                    self._lose("its channel closed")
                    return
                self.frames.put_nowait(frame)
                self.queued_bytes += frame[1]
                if self.queued_bytes > _MAX_QUEUED_BYTES:
                    self._lose(
                        f"it sent more than {_MAX_QUEUED_BYTES >> 20} MiB of output faster "
                        "than it could be read",
                        violation=True,
                    )
                    return
        except FrameTooLargeError as exc:
            self._lose(str(exc), violation=True)
        except ProtocolError as exc:
            self._lose(str(exc), violation=not isinstance(exc, TruncatedFrameError))
        except OSError as exc:
            self._lose(f"reading its channel failed: {exc}")

    def _lose(self, reason: str, *, violation: bool = False) -> None:
        """The worker is gone or must go: kill it, and tell every reader, once."""
        if self.lost is not None:
            return
        self.lost = Lost(reason, violation)
        self.kill()
        self.frames.put_nowait(self.lost)

    async def next_frame(self) -> dict[str, Any] | Lost:
        item = await self.frames.get()
        if isinstance(item, Lost):
            self.frames.put_nowait(item)  # stays lost for every later reader
            return item
        self.queued_bytes -= item[1]
        return item[0]

    def discard_queued(self) -> None:
        """Drop stray frames (e.g. output of a background process between executions)."""
        while not self.frames.empty():
            item = self.frames.get_nowait()
            if isinstance(item, Lost):
                self.frames.put_nowait(item)
                return
            self.queued_bytes -= item[1]

    async def send(self, message: dict[str, Any]) -> bool:
        """Write one frame; False (and the worker lost) when the channel is broken."""
        if self.lost is not None:
            return False
        try:
            self.writer.write(encode(message))
            await self.writer.drain()
        except (OSError, RuntimeError) as exc:
            # ConnectionResetError / BrokenPipeError from a worker that just died, or a write
            # after the transport closed (RuntimeError): all the same thing to us.
            self._lose(f"writing to its channel failed: {exc or type(exc).__name__}")
            return False
        return True

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if not self.exit.done():
                os.kill(self.pid, signum)

    def kill(self) -> None:
        """SIGKILL the worker and everything in its process group."""
        if self.exit.done():
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        self.signal(signal.SIGKILL)

    async def exit_reason(self, wait: float = 1.0) -> WorkerExit | None:
        """How the process ended, waiting briefly for the zygote to tell; None if it did not
        in time."""
        return await _first_done(self.exit, wait)

    async def close(self) -> None:
        self.kill()
        if self.egress is not None:
            with contextlib.suppress(ValueError, OSError, RuntimeError):
                asyncio.get_running_loop().remove_reader(self.egress.fileno())
            self.egress.close()
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump


class Spawner:
    """Owns the zygote process. Must be started from the event loop's thread: the zygote is
    told to die with the thread that started it."""

    def __init__(self, config: ZygoteConfig) -> None:
        self.config = config
        self.hello: dict[str, Any] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._pending: dict[str, asyncio.Future[tuple[int, list[int]]]] = {}
        self._exits: dict[int, asyncio.Future[WorkerExit]] = {}
        self._hello: asyncio.Future[dict[str, Any]] | None = None
        self._preloaded: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def launch(self) -> None:
        """Start the zygote process (or adopt the one launched ahead). It imports its own
        modules (IPython...) while the caller gets the rest of its configuration ready;
        `start` sends it. Call from the loop."""
        if self._control is not None:
            return
        self._loop = asyncio.get_running_loop()
        environment = launch_environment()
        launched = adopt_launched(environment) or launch_zygote(environment)
        self._process = launched.process
        ours = launched.control
        ours.setblocking(False)
        self._control = ours
        self._hello = self._loop.create_future()
        self._preloaded = self._loop.create_future()
        self._loop.add_reader(ours.fileno(), self._on_control)

    async def start(self, isolation: dict[str, Any] | None = None) -> None:
        """Launch the zygote (unless `launch` did), configure it and wait for its hello.
        `isolation`: the probed isolation, if it was not known when this was created."""
        if isolation is not None:
            self.config = dataclasses.replace(self.config, isolation=isolation)
        self.launch()
        assert self._control is not None
        assert self._hello is not None
        configure = {"op": "configure", **_config_message(self.config)}
        self._control.send(json.dumps(configure).encode())
        try:
            async with asyncio.timeout(_READY_TIMEOUT):
                await asyncio.shield(self._hello)
        except TimeoutError as exc:
            await self.close()
            raise SandboxStartError("the sandbox zygote did not start in time") from exc

    @property
    def preloading(self) -> bool:
        """True while the zygote is still importing its preload list (it forks meanwhile)."""
        return self._preloaded is not None and not self._preloaded.done()

    async def wait_preloaded(self) -> None:
        """Wait until the zygote has imported its whole preload list; workers forked from
        then on have all of it."""
        if self._preloaded is None:
            raise SandboxStartError("the sandbox zygote is not running")
        await asyncio.shield(self._preloaded)

    async def spawn(self, workdir: Path) -> WorkerProcess:
        """Fork a worker for `workdir` and wait until it is ready to run code."""
        if not self.running:
            await self.close()
            await self.start()
        assert self._control is not None
        assert self._loop is not None
        worker_id = uuid.uuid4().hex
        spawned = self._loop.create_future()
        self._pending[worker_id] = spawned
        message = {"op": "spawn", "worker_id": worker_id, "workdir": str(workdir)}
        self._control.send(json.dumps(message).encode())
        try:
            async with asyncio.timeout(_READY_TIMEOUT):
                pid, fds = await spawned
        finally:
            self._pending.pop(worker_id, None)
        exit_future = self._exits.setdefault(pid, self._loop.create_future())
        sock = socket.socket(fileno=fds[0])
        egress = socket.socket(fileno=fds[1]) if len(fds) > 1 else None
        try:
            return await self._ready_worker(worker_id, pid, sock, egress, workdir, exit_future)
        except BaseException:
            if egress is not None:
                egress.close()
            raise

    async def _ready_worker(
        self,
        worker_id: str,
        pid: int,
        sock: socket.socket,
        egress: socket.socket | None,
        workdir: Path,
        exit_future: asyncio.Future[WorkerExit],
    ) -> WorkerProcess:
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=1 << 20)
        try:
            async with asyncio.timeout(_READY_TIMEOUT):
                ready = await _ready_frame(reader, worker_id)
        except (TimeoutError, ProtocolError, OSError) as exc:
            writer.close()
            reason = str(exc) or type(exc).__name__
            raise SandboxStartError(f"sandbox worker failed to start: {reason}") from exc
        if ready is None or ready.get("type") != "ready":
            writer.close()
            ended = await _first_done(exit_future, 2.0)
            reason = ended.describe() if ended is not None else "it closed its channel"
            raise SandboxStartError(f"sandbox worker failed to start: {reason}")
        # With a pid namespace `pid` is the session's init (whose end the zygote reports);
        # the worker itself, which we signal and measure, says its host pid when ready.
        host_pid = ready.get("pid")
        worker = WorkerProcess(
            worker_id=worker_id,
            pid=host_pid if isinstance(host_pid, int) and host_pid > 0 else pid,
            cwd=str(ready.get("cwd", workdir)),
            workdir=workdir,
            reader=reader,
            writer=writer,
            exit=exit_future,
            egress=egress,
            languages=_languages(ready.get("languages")),
        )
        worker.start_reading()
        return worker

    def _on_control(self) -> None:
        assert self._control is not None
        while True:
            try:
                data, fds, _flags, _addr = socket.recv_fds(self._control, 1 << 16, 4)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data, fds = b"", []
            if not data:
                self._on_zygote_gone()
                return
            self._dispatch(json.loads(data), fds)

    def _dispatch(self, message: dict[str, Any], fds: list[int]) -> None:
        assert self._loop is not None
        kind = message.get("type")
        if kind == "hello" and self._hello is not None and not self._hello.done():
            self.hello = message
            self._hello.set_result(message)
        elif kind == "preloaded" and self._preloaded is not None and not self._preloaded.done():
            self.hello = {**self.hello, **message}
            for name, error in message.get("failed", {}).items():
                log.warning("sandbox preload of %s failed: %s", name, error)
            self._preloaded.set_result(None)
        elif kind == "spawned":
            future = self._pending.get(message["worker_id"])
            if future is None or future.done() or not fds:
                for fd in fds:
                    os.close(fd)
                return
            future.set_result((int(message["pid"]), fds))
        elif kind == "spawn_failed":
            future = self._pending.get(message["worker_id"])
            if future is not None and not future.done():
                future.set_exception(SandboxStartError(f"fork failed: {message.get('error')}"))
        elif kind == "exited":
            future = self._exits.pop(int(message["pid"]), None)
            if future is None:
                future = self._loop.create_future()
            if not future.done():
                future.set_result(WorkerExit.from_wire(message))

    def _on_zygote_gone(self) -> None:
        assert self._loop is not None
        assert self._control is not None
        self._loop.remove_reader(self._control.fileno())
        error = SandboxStartError("the sandbox zygote exited")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        for waiter in (self._hello, self._preloaded):
            if waiter is not None and not waiter.done():
                waiter.set_exception(error)
                # Marked retrieved: nobody may be waiting (a start with no pool to fill).
                waiter.exception()
        # Workers die with the zygote (PDEATHSIG).
        gone = WorkerExit(detail="killed because the sandbox zygote exited")
        for future in self._exits.values():
            if not future.done():
                future.set_result(gone)
        self._exits.clear()

    async def close(self) -> None:
        if self._control is not None:
            if self._loop is not None and not self._loop.is_closed():
                with contextlib.suppress(ValueError, OSError):
                    self._loop.remove_reader(self._control.fileno())
            self._control.close()
            self._control = None
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await asyncio.to_thread(self._process.wait)
            self._process = None


async def _ready_frame(reader: asyncio.StreamReader, worker_id: str) -> dict[str, Any] | None:
    """The worker's first frame other than output. What a library prints while the worker
    sets up (matplotlib's "building the font cache", a deprecation warning) comes before
    `ready`: it belongs to no execution, so it is logged, and the start goes on."""
    while True:
        frame = await read_frame(reader)
        if frame is None:
            return None
        message = frame[0]
        if message.get("type") not in ("stdout", "stderr"):
            return message
        text = str(message.get("text", ""))[:_MAX_LOGGED_OUTPUT].rstrip()
        log.info("sandbox worker %s printed while starting: %s", worker_id[:8], text)


def _languages(value: Any) -> tuple[str, ...]:
    # The worker's word, kept only as far as it names languages we know.
    if not isinstance(value, list):
        return ("python",)
    return tuple(name for name in LANGUAGES if name in value) or ("python",)


def _config_message(config: ZygoteConfig) -> dict[str, Any]:
    return {
        "preload": config.preload,
        "output_limit": config.output_limit,
        "figure_dpi": config.figure_dpi,
        "worker_environment": config.worker_environment,
        "environment": config.settings_environment,
        "import_paths": config.import_paths,
        "isolation": config.isolation,
        "egress": config.egress,
        "interrupt_grace": config.interrupt_grace,
    }


async def _first_done(future: asyncio.Future[WorkerExit], wait: float) -> WorkerExit | None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(wait):
            return await asyncio.shield(future)
    return None
