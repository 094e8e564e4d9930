"""A real Jupyter Kernel Gateway (or Enterprise Gateway) on 127.0.0.1, run as a child process
for the gateway backend's tests, and a small TCP proxy that can slow down or cut its traffic."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import free_port

_VENV_BIN = str(Path(sys.executable).parent)


@dataclass
class GatewayProcess:
    """`jupyter kernelgateway` (default) or `jupyter enterprisegateway` serving local kernels
    from `root`, with token auth on a free loopback port."""

    root: Path
    token: str = "test-token-0123"
    enterprise: str | None = None  # path of the `jupyter` of an Enterprise Gateway install
    env: dict[str, str] = field(default_factory=dict)  # e.g. JUPYTER_PATH with our kernelspec
    options: list[str] = field(default_factory=list)  # more command-line options
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        if self.enterprise is not None:
            return [
                self.enterprise,
                "enterprisegateway",
                "--ip=127.0.0.1",
                f"--port={self.port}",
                f"--EnterpriseGatewayApp.auth_token={self.token}",
                "--EnterpriseGatewayApp.list_kernels=True",
                *self.options,
            ]
        return [
            os.path.join(_VENV_BIN, "jupyter"),
            "kernelgateway",
            "--KernelGatewayApp.ip=127.0.0.1",
            f"--KernelGatewayApp.port={self.port}",
            f"--KernelGatewayApp.auth_token={self.token}",
            "--KernelGatewayApp.list_kernels=True",
            # jupyter_client picks a kernel's TCP ports by binding to port 0 and letting go, so
            # a port can be handed to another socket's outgoing connection before the kernel
            # binds it; the kernel then dies at start, and its restarts reuse the same ports.
            # With many kernels starting at once that happens; Unix sockets cannot collide.
            "--KernelManager.transport=ipc",
            *self.options,
        ]

    async def start(self) -> None:
        self._spawn()
        await self._wait_serving()

    def _spawn(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        bin_dir = os.path.dirname(self.enterprise) if self.enterprise else _VENV_BIN
        env = {
            **os.environ,
            # The kernels' python is the one next to the gateway (with ipykernel, pandas...).
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "EG_UNAUTHORIZED_USERS": "nobody",
            **self.env,
        }
        env.pop("VIRTUAL_ENV", None)
        self.log_path = self.root.parent / f"gateway-{self.port}.log"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self._command(),
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def _wait_serving(self) -> None:
        headers = {"Authorization": f"token {self.token}"}
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(headers=headers) as client:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"the gateway exited; see {self.log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    response = await client.get(f"{self.url}/api/kernelspecs", timeout=2)
                    if response.status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the gateway did not start; see {self.log_path}")
                await asyncio.sleep(0.1)

    async def stop(self, *, hard: bool = False) -> None:
        """Stop the gateway. `hard`: SIGKILL its whole process group (kernels included),
        as a crash or a node loss would."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        kernels = children_of(process.pid)
        if hard:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            for pid in kernels:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        else:
            process.terminate()
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await asyncio.to_thread(process.wait)
        # Kernels run in sessions of their own: none may outlive a test.
        for pid in kernels:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    async def restart(self) -> None:
        await self.stop(hard=True)
        await self.start()


def children_of(pid: int) -> list[int]:
    """Processes whose parent is `pid` (the gateway's kernels)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


class LoopbackProxy:
    """Forwards 127.0.0.1:port to a target port; can delay every chunk, stall (stop
    forwarding without closing) or cut every open connection."""

    def __init__(self, target_port: int, *, delay: float = 0.0) -> None:
        self.target_port = target_port
        self.delay = delay
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            writer.close()
            return
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer),
            self._pipe(upstream_reader, writer),
            return_exceptions=True,
        )
        self._writers -= {writer, upstream_writer}

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    def stall(self) -> None:
        """Stop forwarding (connections stay open: a black hole, as a hung gateway)."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def cut(self) -> int:
        """Reset every open connection (as a load balancer or a network blip would)."""
        cut = 0
        for writer in list(self._writers):
            transport = writer.transport
            if not transport.is_closing():
                transport.abort()
                cut += 1
        self._writers.clear()
        return cut

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
