"""`SandboxManager` on a running Sandbox Analyst server: the same calls, the sandbox a session
of the server (its E2B-compatible API, driven by the e2b backend and E2B's official SDK).
The server is the real app behind uvicorn on 127.0.0.1, in this test process; its own
sandboxes come from a pool of its own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI

from sandbox_analyst import RetryPolicy, SandboxManager, SyncSandboxManager
from sandbox_analyst.api import create_app
from sandbox_analyst.api.e2b import create_e2b_app
from sandbox_analyst.config import SandboxSettings, Settings
from sandbox_analyst.sdk import SandboxStartRefusedError, SandboxStartRetriesExhaustedError
from tests.conftest import free_port, fresh_database, uvicorn_on_loopback

pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass(frozen=True)
class Server:
    app: FastAPI
    url: str  # its E2B-compatible API
    api_key: str  # alice's

    async def sandbox_ids(self) -> list[str]:
        """Alice's live sandboxes, as the server lists them."""
        async with httpx.AsyncClient(headers={"X-API-Key": self.api_key}) as client:
            response = await client.get(f"{self.url}/sandboxes")
        response.raise_for_status()
        return [sandbox["sandboxID"] for sandbox in response.json()]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    directory = tmp_path_factory.mktemp("server")
    with fresh_database(directory) as database_url:
        settings = Settings(
            data_dir=directory / "data",
            database_url=database_url,
            sandbox=SandboxSettings(
                pool_size=1,
                timeout=20.0,
                interrupt_grace=2.0,
                preload=["numpy", "pandas"],
            ),
        )
        application = create_app(settings)
        async with application.router.lifespan_context(application):
            yield application


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(app: FastAPI) -> AsyncIterator[Server]:
    services = app.state.services
    alice = await services.users.create_user("alice")
    key = (await services.users.create_key(alice.id)).secret
    async with uvicorn_on_loopback(create_e2b_app(app)) as url:
        yield Server(app, url, key)


async def test_the_same_calls_run_on_the_server(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server runs in this process: this is the server's own environment.
    monkeypatch.setenv("SDK_SERVER_SECRET", "server-side-secret")
    streamed: list[str] = []
    async with SandboxManager(
        server_url=server.url, api_key=server.api_key, env_vars={"STAGE": "remote"}, timeout=20
    ) as sm:
        assert sm.backend == "server"
        assert sm.sandbox_id in await server.sandbox_ids()
        await sm.execute_code("python", "import os\nx = 41\nopen('made.txt', 'w').write('py')")
        python = await sm.execute_code(
            "python", "(x + 1, os.environ.get('STAGE'), os.environ.get('SDK_SERVER_SECRET'))"
        )
        bash = await sm.execute_code(
            "bash", "cat made.txt; echo; echo $STAGE; env", on_stdout=streamed.append
        )
        failed = await sm.execute_code("bash", "exit 4")
        await sm.files.write("data/in.csv", "a\n1\n")
        names = [entry.name for entry in await sm.files.list("data")]
        content = await sm.files.read_text("data/in.csv")
        await sm.files.remove("data")
        gone = not await sm.files.exists("data/in.csv")
        usage = await sm.info()
        sandbox_id = sm.sandbox_id
    assert python.text == "(42, 'remote', None)"
    assert bash.stdout.startswith("py\nremote\n")
    assert "server-side-secret" not in bash.stdout
    assert "".join(streamed) == bash.stdout
    assert failed.exit_code == 4
    assert failed.error is not None
    assert names == ["in.csv"]
    assert content == "a\n1\n"
    assert gone
    assert usage.sandbox_id == sandbox_id
    assert usage.uptime_seconds > 0
    assert sandbox_id not in await server.sandbox_ids()  # closing ended it on the server


async def test_the_server_is_chosen_by_the_environment(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYST_E2B_URL", server.url)
    monkeypatch.setenv("ANALYST_API_KEY", server.api_key)
    async with SandboxManager() as sm:
        assert sm.backend == "server"
        assert sm.sandbox_id in await server.sandbox_ids()
        assert (await sm.execute_code("python", "6 * 7")).text == "42"


async def test_the_e2b_backend_takes_e2b_s_own_environment(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`backend="e2b"` configured as for a self-hosted E2B, by E2B's own variables; our
    server stands in for E2B here."""
    monkeypatch.setenv("E2B_API_KEY", server.api_key)
    monkeypatch.setenv("E2B_API_URL", server.url)
    monkeypatch.setenv("E2B_SANDBOX_URL", server.url)
    async with SandboxManager(backend="e2b") as sm:
        assert sm.backend == "e2b"
        assert sm.sandbox_id in await server.sandbox_ids()
        await sm.execute_code("python", "x = 20")
        assert (await sm.execute_code("python", "x + 22")).text == "42"
        assert (await sm.execute_code("bash", "echo on e2b")).stdout == "on e2b\n"


async def test_the_sandbox_ends_on_the_server_when_the_task_is_cancelled(
    server: Server,
) -> None:
    running = asyncio.Event()
    ids: list[str] = []

    async def analysis() -> None:
        async with SandboxManager(server_url=server.url, api_key=server.api_key) as sm:
            ids.append(sm.sandbox_id)
            await sm.execute_code(
                "python",
                "import time\nprint('running', flush=True)\ntime.sleep(60)",
                on_stdout=lambda _text: running.set(),
            )

    task = asyncio.create_task(analysis())
    await asyncio.wait_for(running.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ids
    assert ids[0] not in await server.sandbox_ids()


async def test_a_wrong_key_is_refused_at_once(server: Server) -> None:
    sm = SandboxManager(server_url=server.url, api_key="sa_not-a-key", retry=RetryPolicy())
    with pytest.raises(SandboxStartRefusedError, match="API key") as raised:
        await sm.start()
    assert raised.value.attempts == 1
    assert not sm.started


async def test_a_server_that_is_not_up_yet_is_waited_for(
    app: FastAPI, server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sandbox_analyst.sdk.manager")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sm = SandboxManager(
        server_url=url,
        api_key=server.api_key,
        retry=RetryPolicy(attempts=60, initial_delay=0.05, max_delay=0.3),
    )
    starting = asyncio.create_task(sm.start())
    while not any("trying again" in record.getMessage() for record in caplog.records):
        assert not starting.done()
        await asyncio.sleep(0.01)
    late = uvicorn.Server(
        uvicorn.Config(
            create_e2b_app(app), host="127.0.0.1", port=port, lifespan="off", log_level="warning"
        )
    )
    serving = asyncio.create_task(late.serve())
    try:
        await asyncio.wait_for(starting, 30)
        assert (await sm.execute_code("python", "2 + 2")).text == "4"
    finally:
        await sm.close()
        late.should_exit = True
        await serving


async def test_a_server_that_never_comes_up_exhausts_the_retries() -> None:
    sm = SandboxManager(
        server_url=f"http://127.0.0.1:{free_port()}",
        api_key="sa_whatever",
        retry=RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.02),
    )
    with pytest.raises(SandboxStartRetriesExhaustedError, match="in 3 attempts") as raised:
        await sm.start()
    assert raised.value.attempts == 3


async def test_the_blocking_manager_on_the_server(server: Server) -> None:
    def script() -> str | None:
        with SyncSandboxManager(server_url=server.url, api_key=server.api_key) as sm:
            sm.execute_code("python", "x = 41")
            return sm.execute_code("python", "x + 1").text

    # Off this loop: the server that answers runs on it.
    assert await asyncio.to_thread(script) == "42"
