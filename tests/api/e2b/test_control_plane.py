"""E2B's control plane through the official Python SDK (sync and async): create, list, inspect,
extend, connect and kill; each sandbox is its owner's alone; an ended one is reported as E2B
reports it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from e2b import (
    AuthenticationException,
    NotFoundException,
    SandboxException,
    SandboxQuery,
    TimeoutException,
)
from e2b_code_interpreter import AsyncSandbox, Sandbox

from sandbox_analyst.service import Services
from tests.api.e2b.conftest import E2BUser, in_thread

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _list(user: E2BUser, **query: object) -> list[str]:
    paginator = AsyncSandbox.list(query=SandboxQuery(**query) if query else None, **user.opts)
    ids: list[str] = []
    while paginator.has_next:
        ids += [info.sandbox_id for info in await paginator.next_items()]
    return ids


async def test_create_run_and_kill_with_the_async_sdk(alice: E2BUser) -> None:
    sandbox = await AsyncSandbox.create(metadata={"purpose": "test"}, **alice.opts)
    assert sandbox.sandbox_id.startswith("i")
    assert (await sandbox.run_code("1 + 1")).text == "2"
    info = await sandbox.get_info()
    assert info.sandbox_id == sandbox.sandbox_id
    assert info.template_id == "code-interpreter-v1"
    assert info.metadata == {"purpose": "test"}
    assert info.state == "running"
    assert await sandbox.is_running()
    assert await sandbox.kill() is True
    assert not await sandbox.is_running()
    assert await AsyncSandbox.kill(sandbox.sandbox_id, **alice.opts) is False


async def test_create_run_and_kill_with_the_sync_sdk(alice: E2BUser) -> None:
    sandbox = await in_thread(Sandbox.create, **alice.opts)
    execution = await in_thread(sandbox.run_code, "x = 20\nx * 2")
    assert execution.text == "40"
    assert await in_thread(sandbox.is_running)
    assert await in_thread(sandbox.kill) is True
    assert not await in_thread(sandbox.is_running)


async def test_the_sdk_reads_its_settings_from_the_environment(
    alice: E2BUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in alice.env.items():
        monkeypatch.setenv(name, value)
    sandbox = await AsyncSandbox.create()
    try:
        assert (await sandbox.run_code("'from env'")).text == "from env"
    finally:
        await sandbox.kill()


async def test_listing_shows_the_callers_running_sandboxes_with_metadata(
    alice: E2BUser, bob: E2BUser
) -> None:
    first = await AsyncSandbox.create(metadata={"team": "red", "n": "1"}, **alice.opts)
    second = await AsyncSandbox.create(metadata={"team": "blue"}, **alice.opts)
    theirs = await AsyncSandbox.create(metadata={"team": "red"}, **bob.opts)
    try:
        assert await _list(alice) == [first.sandbox_id, second.sandbox_id]
        assert await _list(alice, metadata={"team": "red"}) == [first.sandbox_id]
        assert await _list(bob) == [theirs.sandbox_id]
        paginator = AsyncSandbox.list(limit=1, **alice.opts)
        pages = [await paginator.next_items()]
        while paginator.has_next:
            pages.append(await paginator.next_items())
        assert [[info.sandbox_id for info in page] for page in pages] == [
            [first.sandbox_id],
            [second.sandbox_id],
        ]
        infos = await AsyncSandbox.list(**alice.opts).next_items()
        assert infos[0].metadata == {"team": "red", "n": "1"}
        await second.kill()
        assert await _list(alice) == [first.sandbox_id]
    finally:
        for sandbox in (first, second, theirs):
            await sandbox.kill()


async def test_another_users_key_can_neither_see_nor_reach_nor_kill_a_sandbox(
    alice: E2BUser, bob: E2BUser
) -> None:
    sandbox = await AsyncSandbox.create(**alice.opts)
    try:
        with pytest.raises(NotFoundException):
            await AsyncSandbox.connect(sandbox.sandbox_id, **bob.opts)
        with pytest.raises(NotFoundException):
            await AsyncSandbox.get_info(sandbox.sandbox_id, **bob.opts)
        with pytest.raises(NotFoundException):
            await AsyncSandbox.set_timeout(sandbox.sandbox_id, 600, **bob.opts)
        with pytest.raises(NotFoundException):
            await AsyncSandbox.get_metrics(sandbox.sandbox_id, **bob.opts)
        assert await AsyncSandbox.kill(sandbox.sandbox_id, **bob.opts) is False
        assert sandbox.sandbox_id not in await _list(bob)
        # Without the sandbox's access token (only its owner is handed it), nothing runs.
        async with httpx.AsyncClient(base_url=alice.url) as http:
            response = await http.post(
                "/execute",
                json={"code": "1"},
                headers={"E2b-Sandbox-Id": sandbox.sandbox_id, "E2b-Sandbox-Port": "49999"},
            )
            assert response.status_code == 401
            response = await http.get(
                "/files",
                params={"path": "/home/user/x"},
                headers={"E2b-Sandbox-Id": sandbox.sandbox_id, "X-Access-Token": "guess"},
            )
            assert response.status_code == 401
        assert (await sandbox.run_code("'still mine'")).text == "still mine"
    finally:
        await sandbox.kill()


async def test_metrics_report_the_sandboxs_memory_cpu_and_disk(alice: E2BUser) -> None:
    sandbox = await AsyncSandbox.create(**alice.opts)
    try:
        before = (await sandbox.get_metrics())[-1]
        await sandbox.run_code(
            "import numpy as np, time\n"
            "block = np.ones(20_000_000)\n"  # 160 MB held
            "end = time.process_time() + 0.3\n"
            "while time.process_time() < end: pass\n"
            "open('data.bin', 'wb').write(b'x' * 3_000_000)"
        )
        series = await sandbox.get_metrics()
        after = series[-1]
        assert len(series) == 2  # a sample per request, kept: a history
        assert after.timestamp >= before.timestamp
        assert after.mem_used >= before.mem_used + 150_000_000
        assert 0 < after.mem_used <= after.mem_total
        assert after.disk_used >= before.disk_used + 3_000_000
        assert after.disk_used <= after.disk_total
        assert after.cpu_count >= 1
        assert 0 < after.cpu_used_pct <= 100
        # The SDK's time window is honoured: nothing from before the sandbox existed.
        assert await sandbox.get_metrics(end=before.timestamp - timedelta(days=1)) == []
    finally:
        await sandbox.kill()
    with pytest.raises(NotFoundException):
        await AsyncSandbox.get_metrics(sandbox.sandbox_id, **alice.opts)


async def test_connecting_by_id_reaches_the_same_session(alice: E2BUser) -> None:
    sandbox = await AsyncSandbox.create(**alice.opts)
    try:
        await sandbox.run_code("kept = 'state'")
        again = await AsyncSandbox.connect(sandbox.sandbox_id, **alice.opts)
        assert (await again.run_code("kept")).text == "state"
        synced = await in_thread(Sandbox.connect, sandbox.sandbox_id, **alice.opts)
        assert (await in_thread(synced.run_code, "kept")).text == "state"
    finally:
        await sandbox.kill()


async def test_unknown_keys_and_templates_get_e2b_errors(alice: E2BUser) -> None:
    with pytest.raises(AuthenticationException, match="invalid API key"):
        await AsyncSandbox.create(**{**alice.opts, "api_key": "sa_not-a-key"})
    with pytest.raises(SandboxException, match=r"404: template 'no-such-template' not found"):
        await AsyncSandbox.create("no-such-template", **alice.opts)
    for stock in ("base", "code-interpreter-v1"):
        sandbox = await AsyncSandbox.create(stock, **alice.opts)
        assert (await sandbox.get_info()).template_id == stock
        await sandbox.kill()
    with pytest.raises(SandboxException, match="timeout"):
        await AsyncSandbox.create(timeout=10**9, **alice.opts)


async def test_a_sandbox_ends_at_its_timeout_and_is_reported_as_e2b_reports_it(
    alice: E2BUser, services: Services
) -> None:
    sandbox = await AsyncSandbox.create(timeout=1, **alice.opts)
    await sandbox.files.write("/home/user/data.txt", "x")
    for _ in range(200):
        if not await sandbox.is_running():
            break
        await asyncio.sleep(0.05)
    assert not await sandbox.is_running()
    with pytest.raises(TimeoutException, match="sandbox"):
        await sandbox.run_code("1")
    with pytest.raises(SandboxException):
        await sandbox.files.read("/home/user/data.txt")
    with pytest.raises(NotFoundException):
        await AsyncSandbox.connect(sandbox.sandbox_id, **alice.opts)
    with pytest.raises(NotFoundException):
        await sandbox.get_info()
    assert sandbox.sandbox_id not in await _list(alice)
    assert await sandbox.kill() is False


async def test_the_timeout_can_be_extended_and_shortened(alice: E2BUser) -> None:
    sandbox = await AsyncSandbox.create(timeout=2, **alice.opts)
    first_end = (await sandbox.get_info()).end_at
    await sandbox.set_timeout(600)
    extended = (await sandbox.get_info()).end_at
    assert (extended - first_end).total_seconds() > 500
    # Connecting with a shorter timeout never shortens a running sandbox's life.
    await AsyncSandbox.connect(sandbox.sandbox_id, timeout=5, **alice.opts)
    assert (await sandbox.get_info()).end_at == extended
    await sandbox.set_timeout(1)
    for _ in range(200):
        if not await sandbox.is_running():
            break
        await asyncio.sleep(0.05)
    assert not await sandbox.is_running()


async def test_sandboxes_are_a_record_of_the_service(alice: E2BUser, services: Services) -> None:
    from sqlalchemy import select

    from sandbox_analyst.store import E2BSandbox

    sandbox = await AsyncSandbox.create(metadata={"k": "v"}, **alice.opts)
    await sandbox.kill()
    async with services.db.session() as db:
        row = (
            await db.scalars(select(E2BSandbox).where(E2BSandbox.id == sandbox.sandbox_id))
        ).one()
    owner = await services.users.get_user("alice")
    assert row.owner_id == owner.id
    assert row.labels == {"k": "v"}
    assert row.end_reason == "killed"
    assert row.ended_at is not None
