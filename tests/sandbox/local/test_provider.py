"""The local backend as a provider: what it reports before and after starting, and shell
commands that are confined like code (same isolation, output budget, death with the worker)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket

import pytest

from sandbox_analyst.sandbox.local import LocalProvider
from sandbox_analyst.sandbox.local.isolation import LayerName
from tests.fixtures.sandboxes import sandbox_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")


def require(provider: LocalProvider, *layers: str) -> None:
    report = provider.pool.isolation_report
    if report is None:
        pytest.skip("isolation is switched off")
    for name in layers:
        layer = report.layer(name)
        if not layer.active:
            pytest.skip(f"{name} not in force here: {layer.detail}")


async def test_before_starting_it_reports_the_isolation_it_would_give(tmp_path) -> None:
    provider = LocalProvider(sandbox_settings(), tmp_path)
    health = await provider.health()
    assert (health.backend, health.ready, health.detail) == ("local", False, "not started")
    assert health.isolation_level in ("none", "basic", "strict")
    assert {layer.name for layer in health.layers} >= {LayerName.SECCOMP, LayerName.RLIMITS}
    assert health.facts["zygote_pid"] is None
    assert not any(tmp_path.iterdir())  # nothing was started


async def test_once_started_it_reports_the_zygote_and_what_it_preloaded(
    local_provider: LocalProvider,
) -> None:
    health = await local_provider.health()
    assert health.ready
    assert health.isolation_level == local_provider.pool.isolation_report.level
    assert health.facts["zygote_pid"] == local_provider.pool.zygote_pid
    os.kill(health.facts["zygote_pid"], 0)  # a live process
    assert "numpy" in health.facts["preloaded"]
    assert health.facts["pool_size"] == 2


async def test_a_command_has_no_network_either(local_provider: LocalProvider) -> None:
    require(local_provider, LayerName.NETWORK)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    sandbox = await local_provider.create()
    try:
        result = await sandbox.run_command(f"echo hello > /dev/tcp/127.0.0.1/{port}")
    finally:
        listener.close()
        await sandbox.close()
    assert result.exit_code != 0
    assert result.stderr


async def test_a_flooding_command_is_cut_at_the_output_budget(
    local_provider: LocalProvider,
) -> None:
    sandbox = await local_provider.create()
    try:
        result = await sandbox.run_command("head -c 50000000 /dev/zero | tr '\\0' x")
        assert result.exit_code == 0
        assert len(result.stdout) <= local_provider.settings.output_limit + 200
        assert "output truncated" in result.stdout + result.stderr
        assert (await sandbox.run_code("1 + 1")).text == "2"
    finally:
        await sandbox.close()


async def test_a_commands_shell_dies_with_a_killed_worker(local_provider: LocalProvider) -> None:
    sandbox = await local_provider.create()
    try:
        started = asyncio.Event()
        task = asyncio.create_task(
            sandbox.run_command(
                "echo started; sleep 60",
                on_stdout=lambda _text: started.set(),
            )
        )
        await asyncio.wait_for(started.wait(), 20)
        [shell] = _children(sandbox.pid)  # host pids: valid whatever namespaces the worker has
        os.kill(sandbox.pid, signal.SIGKILL)
        result = await asyncio.wait_for(task, 20)
        assert result.exit_code is None
        assert "state lost" in result.error
        for _ in range(100):
            if _gone(shell):
                break
            await asyncio.sleep(0.05)
        assert _gone(shell)
    finally:
        await sandbox.close()


def _children(parent: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(name))
    return found


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
