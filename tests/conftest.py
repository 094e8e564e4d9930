"""Fixtures shared by the storage, service, API and CLI tests: a fresh database per test
(SQLite by default; PostgreSQL when `ANALYST_TEST_DATABASE_URL` is set, one throwaway schema
per test) and a real `analyst serve` process on 127.0.0.1; the others (sandboxes, the fake
model, the app, the embedded server) come from tests/fixtures."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp

from sandbox_analyst.config import Settings

TEST_DATABASE_ENV = "ANALYST_TEST_DATABASE_URL"

# Fixtures every directory may use, each defined once (see tests/fixtures).
pytest_plugins = [
    "tests.fixtures.sandboxes",
    "tests.fixtures.models",
    "tests.fixtures.apps",
    "tests.fixtures.embedded",
    "tests.fixtures.object_storage",
    "tests.fixtures.databases",
    "tests.fixtures.mariadb",
    "tests.fixtures.services",
]

# Tests talk only to 127.0.0.1: real provider credentials or endpoints from the developer's
# environment must never turn a test into a call to a cloud model.
for _name in list(os.environ):
    if _name in {
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_ENDPOINT",
    } or _name.startswith(("ANALYST_LLM", "ANALYST_STORAGE", "AWS_")):
        del os.environ[_name]
# Nor may AWS credentials or endpoints: the S3 tests' only endpoint is on 127.0.0.1, and the
# AWS client's own credential chain must not look for an instance role on the network.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


def _postgres_schema_url(base_url: str, schema: str) -> str:
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}"


@contextmanager
def fresh_database(directory: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file in `directory`, or a throwaway schema on
    the PostgreSQL server named by ANALYST_TEST_DATABASE_URL (dropped afterwards)."""
    base_url = os.environ.get(TEST_DATABASE_ENV)
    if not base_url:
        yield f"sqlite:///{directory / 'analyst.db'}"
        return
    import psycopg

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base_url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield _postgres_schema_url(base_url, schema)
    finally:
        with psycopg.connect(base_url, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        server={"max_upload_mb": 1},
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def uvicorn_on_loopback(app: ASGIApp) -> AsyncIterator[str]:
    """`app` behind a real uvicorn server on 127.0.0.1, in the current event loop (real
    sockets, real disconnects); yields its URL. The app's lifespan is the caller's business."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def started(starting: ASGIApp) -> AsyncIterator[Any]:
    """Drive an app's lifespan as uvicorn does: startup now, shutdown at the end."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(starting(scope, inbox.get, replies.put))  # type: ignore[arg-type]
    await inbox.put({"type": "lifespan.startup"})
    assert (await replies.get())["type"] == "lifespan.startup.complete"
    try:
        yield starting
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        assert (await replies.get())["type"] == "lifespan.shutdown.complete"
        await task


@dataclass
class LiveServer:
    """`analyst serve` running as a child process on 127.0.0.1."""

    settings: Settings
    extra_args: list[str] = field(default_factory=list)
    # Runs the server: `[*wrapper, python, ...]` (e.g. `unshare -m sh -c SCRIPT sh`, which
    # must exec it, so that `process` is the server).
    wrapper: list[str] = field(default_factory=list)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "ANALYST_DATA_DIR": str(self.settings.data_dir),
            "ANALYST_DATABASE_URL": self.settings.effective_database_url,
            "ANALYST_SERVER__MAX_UPLOAD_MB": str(self.settings.server.max_upload_mb),
        }
        self.log = self.settings.data_dir.parent / f"server-{self.port}.log"
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            *self.wrapper,
            sys.executable,
            "-c",
            "from sandbox_analyst.cli import main; main()",
        ]
        command += ["serve", "--host", "127.0.0.1", "--port", str(self.port), *self.extra_args]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/api/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not become healthy:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing — a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """A server on this test's database and data directory; call `.start()` when ready."""
    server = LiveServer(settings)
    try:
        yield server
    finally:
        server.stop()
