"""`GatewayProvider`: creating, finding, listing and ending sessions; reaching a session from
another process; settings from the environment."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
from collections.abc import AsyncIterator

import pytest

from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SandboxNotFoundError, SandboxStartError, SessionSpec
from sandbox_analyst.sandbox.gateway import GatewayProvider, GatewaySandbox
from tests.sandbox.gateway.conftest import started_gateway_provider
from tests.sandbox.gateway.gateway_process import GatewayProcess


async def test_sessions_are_listed_with_their_labels_and_ended(
    gateway_provider: GatewayProvider,
) -> None:
    first = await gateway_provider.create(SessionSpec(labels={"owner": "ann"}))
    second = await gateway_provider.create(SessionSpec(labels={"owner": "bob"}))
    listed = {record.sandbox_id: record for record in await gateway_provider.list_sessions()}
    assert listed[first.sandbox_id].labels == {"owner": "ann"}
    assert listed[second.sandbox_id].labels == {"owner": "bob"}
    assert listed[first.sandbox_id].template == "default"
    assert await gateway_provider.end(first.sandbox_id) is True
    assert first.closed
    assert await gateway_provider.end(first.sandbox_id) is False
    with pytest.raises(SandboxNotFoundError):
        await gateway_provider.connect(first.sandbox_id)
    remaining = [record.sandbox_id for record in await gateway_provider.list_sessions()]
    assert remaining == [second.sandbox_id]
    await second.close()


async def test_ids_that_are_not_gateway_sessions_are_not_found(
    gateway_provider: GatewayProvider,
) -> None:
    with pytest.raises(SandboxNotFoundError):
        await gateway_provider.connect("local-1234")
    with pytest.raises(SandboxNotFoundError):
        await gateway_provider.connect("gw-00000000-0000-0000-0000-000000000000")


async def test_another_provider_reaches_the_same_session(
    kernel_gateway: GatewayProcess, sandbox: GatewaySandbox
) -> None:
    await sandbox.run_code("shared = 'from the first replica'")
    await sandbox.files.write("shared.txt", b"file")
    async with started_gateway_provider(kernel_gateway) as other:
        found = await other.connect(sandbox.sandbox_id)
        assert found is not sandbox
        execution = await found.run_code("shared")
        assert execution.text == "'from the first replica'"
        assert await found.files.read_bytes("shared.txt") == b"file"
        # Cancel from the other replica: its interrupt stops a cell started here.
        first_line = asyncio.Event()
        running = asyncio.create_task(
            sandbox.run_code(
                "import time\nprint('go', flush=True)\ntime.sleep(60)",
                on_stdout=lambda _text: first_line.set(),
            )
        )
        await asyncio.wait_for(first_line.wait(), 30)
        await found.interrupt()
        stopped = await asyncio.wait_for(running, 30)
        assert stopped.error is not None
        assert stopped.error.name == "KeyboardInterrupt"
    # Shutting the other provider down let go of the session without ending it.
    assert not sandbox.closed
    assert (await sandbox.run_code("shared")).text == "'from the first replica'"


async def test_a_session_is_reached_from_another_os_process(
    kernel_gateway: GatewayProcess, sandbox: GatewaySandbox
) -> None:
    await sandbox.run_code("answer = 41 + 1")
    script = textwrap.dedent(
        f"""
        import asyncio, json
        from sandbox_analyst.config import GatewaySettings, SandboxSettings
        from sandbox_analyst.sandbox.gateway import GatewayProvider

        async def main():
            settings = GatewaySettings(url={kernel_gateway.url!r}, token={kernel_gateway.token!r})
            async with GatewayProvider(settings, SandboxSettings()) as provider:
                sandbox = await provider.connect({sandbox.sandbox_id!r})
                execution = await sandbox.run_code("answer")
                print(json.dumps(execution.to_dict()))

        asyncio.run(main())
        """
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    stdout, stderr = await asyncio.wait_for(child.communicate(), 90)
    assert child.returncode == 0, stderr.decode()
    assert json.loads(stdout.decode().strip().splitlines()[-1])["results"][0]["text"] == "42"


async def test_templates_map_to_kernelspecs(kernel_gateway: GatewayProcess) -> None:
    async with started_gateway_provider(
        kernel_gateway, templates={"analysis": "python3"}
    ) as provider:
        sandbox = await provider.create(SessionSpec(template="analysis"))
        assert (await sandbox.run_code("1")).text == "1"
        assert [record.template for record in await provider.list_sessions()] == ["analysis"]
        with pytest.raises(SandboxStartError, match="no kernelspec for template 'unknown'"):
            await provider.create(SessionSpec(template="unknown"))


async def test_a_missing_kernelspec_is_refused_at_start(kernel_gateway: GatewayProcess) -> None:
    with pytest.raises(SandboxStartError, match="no kernelspec 'julia'"):
        async with started_gateway_provider(kernel_gateway, kernel_name="julia"):
            pass


async def test_a_pool_hands_over_kernels_started_ahead(kernel_gateway: GatewayProcess) -> None:
    async with started_gateway_provider(kernel_gateway, pool_size=1) as provider:
        await provider.wait_ready()
        pooled = provider._ready[0].kernel_id
        sandbox = await provider.create(SessionSpec(env_vars={"MODE": "pooled"}))
        assert isinstance(sandbox, GatewaySandbox)
        assert sandbox.kernel.kernel_id == pooled
        execution = await sandbox.run_code("import os\nos.environ['MODE']")
        assert execution.text == "'pooled'"
        await provider.wait_ready()  # refilled after the hand-over
        assert provider._ready[0].kernel_id != pooled
        health = await provider.health()
    assert health.ready
    assert health.facts["pool_ready"] == 1


async def test_health_reports_the_gateway(gateway_provider: GatewayProvider) -> None:
    health = await gateway_provider.health()
    assert health.backend == "gateway"
    assert health.ready
    assert "python3" in health.facts["kernelspecs"]


async def test_shutdown_ends_the_sessions_it_created(kernel_gateway: GatewayProcess) -> None:
    async with started_gateway_provider(kernel_gateway) as provider:
        sandbox = await provider.create()
        sandbox_id = sandbox.sandbox_id
    async with started_gateway_provider(kernel_gateway) as other:
        with pytest.raises(SandboxNotFoundError):
            await other.connect(sandbox_id)


async def test_files_and_cells_can_be_restored_into_a_fresh_session(
    gateway_provider: GatewayProvider,
) -> None:
    """What the service does when a conversation's session was lost, through the interface."""
    cells = ["import pandas as pd", "frame = pd.read_csv('upload.csv')", "total = frame.x.sum()"]
    upload = b"x\n1\n2\n3\n"

    async def stored() -> AsyncIterator[bytes]:
        yield upload[:3]
        yield upload[3:]

    lost = await gateway_provider.create()
    await lost.close()
    fresh = await gateway_provider.create()
    await fresh.files.write("upload.csv", stored())
    for code in cells:
        assert (await fresh.run_code(code)).error is None
    assert (await fresh.run_code("int(total)")).text == "6"
    await fresh.close()


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYST_SANDBOX__BACKEND", "gateway")
    monkeypatch.setenv("ANALYST_SANDBOX__GATEWAY__URL", "http://127.0.0.1:8888/")
    monkeypatch.setenv("ANALYST_SANDBOX__GATEWAY__TOKEN", "s3cret")
    monkeypatch.setenv("ANALYST_SANDBOX__GATEWAY__KERNEL_NAME", "analyst")
    settings = Settings()
    assert settings.sandbox.backend == "gateway"
    assert settings.sandbox.gateway.url == "http://127.0.0.1:8888"
    assert settings.sandbox.gateway.token is not None
    assert settings.sandbox.gateway.token.get_secret_value() == "s3cret"
    assert settings.sandbox.gateway.kernel_name == "analyst"
    assert "s3cret" not in json.dumps(settings.masked())


def test_a_gateway_url_must_be_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYST_SANDBOX__GATEWAY__URL", "ws://127.0.0.1:8888")
    with pytest.raises(ValueError, match="must start with http"):
        Settings()
