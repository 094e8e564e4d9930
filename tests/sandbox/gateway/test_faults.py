"""The gateway backend when things break: dropped websockets, killed kernels, a gateway that
restarts, slows down or stops answering, a bad token."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from sandbox_analyst.sandbox import SandboxNotFoundError, SandboxStartError
from sandbox_analyst.sandbox.gateway import GatewayProvider, GatewaySandbox
from sandbox_analyst.sandbox.gateway.channel import ChannelEvent
from sandbox_analyst.sandbox.models import SandboxErrorName
from tests.sandbox.gateway.conftest import (
    gateway_settings,
    sandbox_settings,
    started_gateway_provider,
)
from tests.sandbox.gateway.gateway_process import GatewayProcess, LoopbackProxy

# Prints a line, then waits before the second, so that a fault can be injected in between.
TWO_LINES = "import time\nprint('first', flush=True)\ntime.sleep({pause})\nprint('second')\n'end'"


@pytest_asyncio.fixture
async def proxy(kernel_gateway: GatewayProcess) -> AsyncIterator[LoopbackProxy]:
    running = LoopbackProxy(kernel_gateway.port)
    await running.start()
    yield running
    await running.close()


async def _started(sandbox: GatewaySandbox, code: str) -> tuple[asyncio.Task, asyncio.Event]:
    first = asyncio.Event()
    task = asyncio.create_task(sandbox.run_code(code, on_stdout=lambda _text: first.set()))
    await asyncio.wait_for(first.wait(), 30)
    return task, first


async def test_a_dropped_websocket_loses_and_repeats_no_output(
    kernel_gateway: GatewayProcess, proxy: LoopbackProxy
) -> None:
    async with started_gateway_provider(kernel_gateway, url=proxy.url) as provider:
        sandbox = await provider.create()
        assert isinstance(sandbox, GatewaySandbox)
        running, _ = await _started(sandbox, TWO_LINES.format(pause=2))
        assert proxy.cut() > 0  # the websocket (and any REST connection) is reset
        execution = await asyncio.wait_for(running, 60)
        assert execution.error is None
        assert "".join(execution.logs.stdout) == "first\nsecond\n"
        assert execution.logs.stderr == []
        assert execution.text == "'end'"
        assert sandbox.kernel.channel.reconnects >= 1
        assert sandbox.generation == 0
        # Cut again while idle: the next execution just works.
        proxy.cut()
        assert (await sandbox.run_code("6 * 7")).text == "42"


async def test_a_request_lost_with_a_dying_connection_is_sent_again_and_runs_once(
    kernel_gateway: GatewayProcess, proxy: LoopbackProxy
) -> None:
    async with started_gateway_provider(kernel_gateway, url=proxy.url) as provider:
        sandbox = await provider.create()
        await sandbox.run_code("runs = 0")
        proxy.stall()  # what is written now never arrives...
        running = asyncio.create_task(sandbox.run_code("runs += 1\nruns * 42"))
        await asyncio.sleep(0.5)
        proxy.cut()  # ...and goes with the connection
        proxy.resume()
        execution = await asyncio.wait_for(running, 60)
        assert execution.logs.stderr == []
        assert execution.text == "42"  # run exactly once


async def test_a_slow_gateway_is_slow_but_correct(
    kernel_gateway: GatewayProcess,
) -> None:
    slow = LoopbackProxy(kernel_gateway.port, delay=0.05)
    await slow.start()
    try:
        async with started_gateway_provider(kernel_gateway, url=slow.url) as provider:
            sandbox = await provider.create()
            execution = await sandbox.run_code("print('a'); print('b', flush=True); 1 + 1")
            await sandbox.files.write("f.bin", os.urandom(1_500_000))
            size = await sandbox.run_code("import os\nos.path.getsize('f.bin')")
    finally:
        await slow.close()
    assert "".join(execution.logs.stdout) == "a\nb\n"
    assert execution.text == "2"
    assert size.text == "1500000"


async def test_a_gateway_that_stops_answering_is_a_clear_error_not_a_hang(
    kernel_gateway: GatewayProcess, proxy: LoopbackProxy
) -> None:
    async with started_gateway_provider(
        kernel_gateway, url=proxy.url, request_timeout=1.0, kernel_start_timeout=2.0
    ) as provider:
        proxy.stall()
        with pytest.raises(SandboxStartError, match="did not answer"):
            await provider.create()
        proxy.resume()


async def test_a_killed_kernel_is_restarted_and_the_caller_told(
    sandbox: GatewaySandbox,
) -> None:
    await sandbox.run_code("lost = 1\nopen('kept.txt', 'w').write('yes')")
    pid = (await sandbox.info()).pid
    assert pid is not None
    running, _ = await _started(sandbox, TWO_LINES.format(pause=60))
    os.kill(pid, signal.SIGKILL)
    execution = await asyncio.wait_for(running, 90)
    assert execution.error is not None
    assert execution.error.name == SandboxErrorName.RESTARTED
    assert sandbox.generation == 1
    after = await sandbox.run_code("import os\n('lost' in dir(), open('kept.txt').read())")
    assert after.text == "(False, 'yes')"
    assert (await sandbox.info()).pid != pid


async def test_a_kernel_that_died_between_cells_is_reported_before_running_more(
    sandbox: GatewaySandbox,
) -> None:
    pid = (await sandbox.info()).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    # The gateway notices within its restarter's poll interval (seconds); until then a cell
    # may even be queued to the dead kernel: either way the caller is told, once.
    restarted = None
    for _ in range(200):
        execution = await sandbox.run_code("'alive'")
        if execution.error is not None:
            restarted = execution
            break
        await asyncio.sleep(0.05)
    assert restarted is not None
    assert restarted.error is not None
    assert restarted.error.name == SandboxErrorName.RESTARTED
    assert sandbox.generation == 1
    assert (await sandbox.run_code("'alive'")).text == "'alive'"


async def test_a_kernel_shut_down_behind_our_back_loses_the_session(
    kernel_gateway: GatewayProcess, gateway_provider: GatewayProvider
) -> None:
    sandbox = await gateway_provider.create()
    assert isinstance(sandbox, GatewaySandbox)
    async with httpx.AsyncClient(
        base_url=kernel_gateway.url, headers={"Authorization": f"token {kernel_gateway.token}"}
    ) as client:
        response = await client.delete(f"/api/kernels/{sandbox.kernel.kernel_id}")
        assert response.status_code == 204
    execution = await sandbox.run_code("1")
    assert execution.error is not None
    assert execution.error.name == SandboxErrorName.LOST
    assert execution.state_lost
    assert sandbox.closed
    with pytest.raises(SandboxNotFoundError):
        await gateway_provider.connect(sandbox.sandbox_id)


async def test_a_provider_shut_down_right_after_a_loss_lets_its_cleanup_finish(
    kernel_gateway: GatewayProcess,
) -> None:
    """A lost session shuts its kernel down in the background, over the provider's REST
    client: the provider waits for that before closing the client, whatever the timing."""
    provider = GatewayProvider(
        gateway_settings(kernel_gateway.url, kernel_gateway.token), sandbox_settings()
    )
    await provider.start()
    sandbox = await provider.create()
    assert isinstance(sandbox, GatewaySandbox)
    running, _ = await _started(sandbox, TWO_LINES.format(pause=30))
    # The gateway's word that it gave up on the kernel: the session is lost.
    sandbox.kernel.channel._broadcast(ChannelEvent("dead"))
    execution = await asyncio.wait_for(running, 30)
    assert execution.error is not None
    assert execution.error.name == SandboxErrorName.LOST
    cleanup = sandbox.background()
    assert cleanup  # the kernel's shutdown, still under way
    await provider.shutdown()
    assert all(task.done() for task in cleanup)
    assert [task.exception() for task in cleanup] == [None] * len(cleanup)


async def test_a_gateway_restarted_mid_cell_loses_the_session_clearly(
    own_gateway: GatewayProcess,
) -> None:
    async with started_gateway_provider(own_gateway, reconnect_timeout=90.0) as provider:
        sandbox = await provider.create()
        running, _ = await _started(sandbox, TWO_LINES.format(pause=60))
        await own_gateway.restart()  # a crash: the gateway and its kernels are killed
        execution = await asyncio.wait_for(running, 120)
        assert execution.error is not None
        assert execution.error.name == SandboxErrorName.LOST
        assert "first\n" in execution.logs.stdout
        assert sandbox.closed
        with pytest.raises(SandboxNotFoundError):
            await provider.connect(sandbox.sandbox_id)
        # The restarted gateway serves new sessions.
        fresh = await provider.create()
        assert (await fresh.run_code("1 + 1")).text == "2"


async def test_a_bad_token_is_refused_at_start_with_a_hint(
    kernel_gateway: GatewayProcess,
) -> None:
    from sandbox_analyst.config import GatewaySettings, SandboxSettings

    provider = GatewayProvider(
        GatewaySettings(url=kernel_gateway.url, token="wrong"), SandboxSettings()
    )
    with pytest.raises(SandboxStartError, match=r"HTTP 40[13].*sandbox\.gateway\.token"):
        await provider.start()
    await provider.shutdown()


async def test_an_unreachable_gateway_is_refused_at_start(
    kernel_gateway: GatewayProcess,
) -> None:
    from sandbox_analyst.config import GatewaySettings, SandboxSettings
    from tests.conftest import free_port

    provider = GatewayProvider(
        GatewaySettings(url=f"http://127.0.0.1:{free_port()}", connect_timeout=2),
        SandboxSettings(),
    )
    with pytest.raises(SandboxStartError, match="cannot reach the gateway"):
        await provider.start()
    await provider.shutdown()
