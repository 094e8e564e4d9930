"""The E2B backend's provider against our own E2B API on 127.0.0.1: what the contract cannot
say. Sessions are E2B sandboxes, found again by id from another provider (a restarted server),
killed for good when they end; a bad API key or an unreachable E2B is a clear error at start."""

from __future__ import annotations

import pytest
from e2b import SandboxNotFoundException
from e2b_code_interpreter import AsyncSandbox

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox import (
    SandboxNotFoundError,
    SandboxStartError,
    SessionSpec,
    create_provider,
)
from sandbox_analyst.sandbox.e2b import E2BAuthError, E2BProvider, E2BSandbox
from tests.conftest import free_port
from tests.sandbox.e2b.conftest import E2BServer, e2b_sandbox_settings, started_e2b_provider

pytestmark = pytest.mark.asyncio(loop_scope="session")


def sdk_options(server: E2BServer) -> dict[str, str]:
    return {"api_key": server.api_key, "api_url": server.url, "sandbox_url": server.url}


async def test_the_backend_is_chosen_by_settings(e2b_api: E2BServer, tmp_path) -> None:
    provider = create_provider(e2b_sandbox_settings(e2b_api), tmp_path)
    assert isinstance(provider, E2BProvider)
    async with provider:
        health = await provider.health()
    assert health.ready
    assert health.backend == "e2b"
    assert health.facts["api_url"] == e2b_api.url


async def test_a_session_is_an_e2b_sandbox_with_its_labels_and_env(
    e2b_provider: E2BProvider, e2b_api: E2BServer
) -> None:
    sandbox = await e2b_provider.create(
        SessionSpec(env_vars={"DATASET": "sales"}, labels={"owner": "alice"})
    )
    try:
        info = await AsyncSandbox.get_info(sandbox.sandbox_id, **sdk_options(e2b_api))
        assert info.metadata["owner"] == "alice"
        assert (await sandbox.run_command("echo $DATASET")).stdout == "sales\n"
    finally:
        await sandbox.close()


async def test_another_provider_reconnects_by_id_as_after_a_server_restart(
    e2b_api: E2BServer,
) -> None:
    async with started_e2b_provider(e2b_api) as first:
        sandbox = await first.create()
        await sandbox.run_code("answer = 6 * 7")
        await sandbox.files.write("kept.txt", b"still here")
        sandbox_id = sandbox.sandbox_id
        async with started_e2b_provider(e2b_api) as second:
            again = await second.connect(sandbox_id)
            assert isinstance(again, E2BSandbox)
            assert (await again.run_code("answer")).text == "42"
            assert await again.files.read_bytes("kept.txt") == b"still here"
            assert sandbox_id in {record.sandbox_id for record in await second.list_sessions()}
        # The second provider only connected: shutting it down left the sandbox running.
        assert (await sandbox.run_code("answer + 1")).text == "43"
    # The first provider made it: shutting down killed it.
    with pytest.raises(SandboxNotFoundException):
        await AsyncSandbox.connect(sandbox_id, **sdk_options(e2b_api))


async def test_ending_a_session_kills_the_e2b_sandbox(
    e2b_provider: E2BProvider, e2b_api: E2BServer
) -> None:
    sandbox = await e2b_provider.create()
    assert await e2b_provider.end(sandbox.sandbox_id) is True
    assert sandbox.closed
    with pytest.raises(SandboxNotFoundException):
        await AsyncSandbox.connect(sandbox.sandbox_id, **sdk_options(e2b_api))


async def test_a_session_killed_elsewhere_is_reported_lost(
    e2b_provider: E2BProvider, e2b_api: E2BServer
) -> None:
    sandbox = await e2b_provider.create()
    await AsyncSandbox.kill(sandbox.sandbox_id, **sdk_options(e2b_api))
    execution = await sandbox.run_code("1")
    assert execution.state_lost
    assert execution.error is not None
    assert "lost" in execution.error.value
    assert sandbox.closed
    with pytest.raises(SandboxNotFoundError):
        await e2b_provider.connect(sandbox.sandbox_id)


async def test_a_bad_api_key_is_refused_at_start_with_the_setting_to_fix(
    e2b_api: E2BServer,
) -> None:
    provider = E2BProvider(e2b_sandbox_settings(e2b_api, e2b={"api_key": "sa_wrong"}))
    with pytest.raises(E2BAuthError, match=r"sandbox\.e2b\.api_key"):
        await provider.start()
    await provider.shutdown()


async def test_an_unreachable_e2b_is_refused_at_start() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    settings = SandboxSettings(
        backend="e2b", e2b={"api_key": "k", "api_url": url, "sandbox_url": url}
    )
    provider = E2BProvider(settings)
    with pytest.raises(SandboxStartError, match="not usable"):
        await provider.start()
    await provider.shutdown()


async def test_templates_map_to_e2b_template_ids(e2b_api: E2BServer) -> None:
    async with started_e2b_provider(
        e2b_api, e2b={"templates": {"analysis": "code-interpreter-v1"}}
    ) as provider:
        sandbox = await provider.create(SessionSpec(template="analysis"))
        try:
            [record] = [
                record
                for record in await provider.list_sessions()
                if record.sandbox_id == sandbox.sandbox_id
            ]
            assert record.template == "analysis"
            info = await AsyncSandbox.get_info(sandbox.sandbox_id, **sdk_options(e2b_api))
            assert info.template_id == "code-interpreter-v1"
        finally:
            await sandbox.close()
