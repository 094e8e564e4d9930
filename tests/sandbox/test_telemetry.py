"""What the sandbox layer reports (`sandbox_analyst.telemetry`): every execution of every
backend with its outcome, purpose and peak memory; sessions started, connected, ended (and
why), and lost. Real sessions on the shared local backend; a listener collects the events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from sandbox_analyst.sandbox import SandboxProvider, SessionKey, SessionManager
from sandbox_analyst.sandbox.local.sandbox import LocalSandbox
from sandbox_analyst.telemetry import (
    ExecutionFinished,
    SessionEnded,
    SessionLost,
    SessionStarted,
    TelemetryEvent,
    subscribe,
    unsubscribe,
)
from sandbox_analyst.telemetry.context import executions_for

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def events() -> Iterator[list[TelemetryEvent]]:
    seen: list[TelemetryEvent] = []
    subscribe(seen.append)
    yield seen
    unsubscribe(seen.append)


@pytest_asyncio.fixture(loop_scope="session")
async def manager(local_provider: SandboxProvider) -> AsyncIterator[SessionManager]:
    managed = SessionManager(
        local_provider, max_sessions=2, idle_timeout=60.0, reclaim_idle_after=0.0
    )
    yield managed
    await managed.shutdown(end_provider=False)


def executions(events: list[TelemetryEvent]) -> list[ExecutionFinished]:
    return [event for event in events if isinstance(event, ExecutionFinished)]


async def test_each_execution_is_reported_with_its_outcome_and_peak_memory(
    sandbox: LocalSandbox, events: list[TelemetryEvent]
) -> None:
    await sandbox.run_code("x = 1")
    await sandbox.run_code("1 / 0")
    await sandbox.run_code("exit 3", language="bash")
    await sandbox.run_code("import time; time.sleep(5)", timeout=0.5)

    reported = executions(events)
    assert [(e.backend, e.language, e.outcome) for e in reported] == [
        ("local", "python", "ok"),
        ("local", "python", "error"),
        ("local", "bash", "command_exit"),
        ("local", "python", "timeout"),
    ]
    assert all(e.purpose == "code" for e in reported)
    assert all(e.peak_memory_bytes and e.peak_memory_bytes > 1024 * 1024 for e in reported[:2])
    assert reported[3].seconds >= 0.5


async def test_the_services_own_executions_say_what_they_are_for(
    sandbox: LocalSandbox, events: list[TelemetryEvent]
) -> None:
    with executions_for("probe"):
        await sandbox.run_code("1")
    await sandbox.run_code("2")

    assert [e.purpose for e in executions(events)] == ["probe", "code"]


async def test_a_call_that_raises_is_reported_as_failed(
    sandbox: LocalSandbox, events: list[TelemetryEvent]
) -> None:
    with pytest.raises(ValueError, match="ruby"):
        await sandbox.run_code("1", language="ruby")  # type: ignore[arg-type]

    assert [e.outcome for e in executions(events)] == ["failed"]


async def test_sessions_started_connected_reclaimed_ended_and_lost(
    manager: SessionManager, local_provider: SandboxProvider, events: list[TelemetryEvent]
) -> None:
    first, _ = await manager.acquire(SessionKey("alice", "one"))
    second, _ = await manager.acquire(SessionKey("bob", "two"))
    # Full (2 sessions): bob's next one ends the longest idle one, alice's, to make room.
    await manager.acquire(SessionKey("bob", "three"))
    assert first.closed
    # Another process's manager reaches bob's session by its stored id.
    other = SessionManager(local_provider, max_sessions=2, idle_timeout=60.0)
    try:
        await other.acquire(SessionKey("bob", "two"), known_id=second.sandbox_id)
    finally:
        await other.shutdown(end_provider=False)
    await manager.end(SessionKey("bob", "three"))
    await second.close()  # behind the manager's back: as if its worker had gone
    assert manager.get(SessionKey("bob", "two")) is None

    sessions = [e for e in events if isinstance(e, SessionStarted | SessionEnded | SessionLost)]
    assert sessions == [
        SessionStarted("local", "created"),
        SessionStarted("local", "created"),
        SessionEnded("local", "reclaimed"),
        SessionStarted("local", "created"),
        SessionStarted("local", "connected"),
        SessionEnded("local", "shutdown"),  # the other manager's, at its shutdown
        SessionEnded("local", "ended"),
        SessionLost("local"),
    ]


async def test_idle_sessions_reaped_are_reported_as_idle(
    local_provider: SandboxProvider, events: list[TelemetryEvent]
) -> None:
    manager = SessionManager(
        local_provider, max_sessions=2, idle_timeout=0.05, reap_interval=3600.0
    )
    try:
        await manager.acquire(SessionKey("alice", "idle"))
        await asyncio.sleep(0.1)  # idle for longer than its idle timeout
        await manager.reap_idle()
    finally:
        await manager.shutdown(end_provider=False)

    assert [e for e in events if isinstance(e, SessionEnded)] == [SessionEnded("local", "idle")]
