"""The session manager: reuse per key, reconnection by a stored id, caps per user and in all,
idle sessions ended to make room, idle reaping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from sandbox_analyst.sandbox import (
    SandboxProvider,
    SessionKey,
    SessionManager,
    SessionSpec,
    TooManySessionsError,
    TooManyUserSessionsError,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def make_manager(
    local_provider: SandboxProvider,
) -> AsyncIterator[Callable[..., SessionManager]]:
    """Managers on the shared local backend; their sessions end with the test. Their reaper
    waits an hour unless told otherwise: tests reap explicitly."""
    managers: list[SessionManager] = []

    def make(**limits: float) -> SessionManager:
        options = {"max_sessions": 4, "idle_timeout": 60.0, "reap_interval": 3600.0, **limits}
        manager = SessionManager(local_provider, **options)  # type: ignore[arg-type]
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        await manager.shutdown(end_provider=False)


def key(owner: str, purpose: str = "chat") -> SessionKey:
    return SessionKey(owner, purpose)


async def test_same_key_reuses_the_same_sandbox(make_manager) -> None:
    manager = make_manager()
    first, created = await manager.acquire(key("alice", "conv-1"))
    again, created_again = await manager.acquire(key("alice", "conv-1"))
    other, _ = await manager.acquire(key("bob", "conv-1"))
    assert (created, created_again) == (True, False)
    assert first is again
    assert other is not first


async def test_concurrent_requests_for_one_key_share_one_sandbox(make_manager) -> None:
    manager = make_manager()
    results = await asyncio.gather(*(manager.acquire(key("k")) for _ in range(5)))
    assert len({id(sandbox) for sandbox, _ in results}) == 1
    assert [created for _, created in results].count(True) == 1
    assert len(manager) == 1


async def test_a_caller_that_goes_away_leaves_no_session_behind_unmanaged(make_manager) -> None:
    manager = make_manager()
    waiting = asyncio.create_task(manager.acquire(key("impatient", "conv-1")))
    for _ in range(1000):
        if manager.count("impatient"):
            break
        await asyncio.sleep(0)
    waiting.cancel()  # while the session is being made
    with pytest.raises(asyncio.CancelledError):
        await waiting
    for _ in range(200):
        if manager.get(key("impatient", "conv-1")) is not None:
            break
        await asyncio.sleep(0.01)
    sandbox = manager.get(key("impatient", "conv-1"))
    assert sandbox is not None  # kept, so it is reaped or ended like any other
    assert await manager.end(key("impatient", "conv-1"))
    assert sandbox.closed


async def test_sessions_are_labelled_with_their_owner_and_purpose(
    make_manager, local_provider: SandboxProvider
) -> None:
    manager = make_manager()
    sandbox, _ = await manager.acquire(
        key("alice", "conv-9"), SessionSpec(labels={"front_end": "chat"})
    )
    [record] = [
        r for r in await local_provider.list_sessions() if r.sandbox_id == sandbox.sandbox_id
    ]
    assert record.labels == {"front_end": "chat", "owner": "alice", "purpose": "conv-9"}


async def test_a_stored_id_is_reconnected_to_while_the_session_lives(make_manager) -> None:
    # Two managers on one backend: two server processes sharing a remote backend.
    first, second = make_manager(), make_manager()
    sandbox, _ = await first.acquire(key("alice", "conv-1"))
    await sandbox.run_code("state = 'made by the first process'")
    reached, created = await second.acquire(key("alice", "conv-1"), known_id=sandbox.sandbox_id)
    assert not created
    assert reached.sandbox_id == sandbox.sandbox_id
    assert (await reached.run_code("state")).text == "'made by the first process'"


async def test_a_stored_id_of_an_ended_session_gives_a_new_one(make_manager) -> None:
    manager = make_manager()
    old, _ = await manager.acquire(key("alice", "conv-1"))
    await manager.end(key("alice", "conv-1"))
    new, created = await manager.acquire(key("alice", "conv-1"), known_id=old.sandbox_id)
    assert created
    assert new.sandbox_id != old.sandbox_id


async def test_a_session_kept_for_another_key_is_never_handed_over(make_manager) -> None:
    manager = make_manager()
    alices, _ = await manager.acquire(key("alice", "conv-1"))
    mallory, created = await manager.acquire(key("mallory", "x"), known_id=alices.sandbox_id)
    assert created
    assert mallory is not alices


async def test_exceeding_the_limit_is_a_clear_error(make_manager) -> None:
    manager = make_manager(max_sessions=2)
    await manager.acquire(key("a"))
    await manager.acquire(key("b"))
    with pytest.raises(TooManySessionsError, match="limit 2") as refused:
        await manager.acquire(key("c"))
    assert type(refused.value) is TooManySessionsError
    assert (refused.value.code, refused.value.http_status) == ("too_many_sessions", 429)
    await manager.end(key("a"))
    await manager.acquire(key("c"))  # room again


async def test_a_users_least_recently_used_idle_session_makes_room_for_their_next(
    make_manager,
) -> None:
    manager = make_manager(max_sessions=8, max_sessions_per_user=2)
    oldest, _ = await manager.acquire(key("alice", "conv-1"))
    newer, _ = await manager.acquire(key("alice", "conv-2"))
    await newer.run_code("1")  # used since
    await oldest.run_code("1")  # used last: conv-2 is now the least recently used
    _third, created = await manager.acquire(key("alice", "conv-3"))
    assert created
    assert newer.closed
    assert not oldest.closed
    assert manager.count("alice") == 2
    assert manager.get(key("alice", "conv-2")) is None


async def test_a_user_whose_sessions_are_all_in_use_is_refused_naming_the_cap(
    make_manager,
) -> None:
    manager = make_manager(max_sessions=8, max_sessions_per_user=2)
    await manager.acquire(key("alice", "conv-1"), hold=True)  # turns in progress
    await manager.acquire(key("alice", "conv-2"), hold=True)
    with pytest.raises(TooManyUserSessionsError, match="limit 2") as refused:
        await manager.acquire(key("alice", "conv-3"))
    assert (refused.value.code, refused.value.http_status) == ("too_many_sessions_per_user", 429)
    bob, _ = await manager.acquire(key("bob"))  # others are not affected
    assert not bob.closed
    manager.release(key("alice", "conv-2"))
    await manager.acquire(key("alice", "conv-3"))  # the released one made room
    assert manager.get(key("alice", "conv-2")) is None
    assert manager.get(key("alice", "conv-1")) is not None


async def test_an_owners_own_limit_replaces_the_cap_per_user(make_manager) -> None:
    manager = make_manager(max_sessions=8, max_sessions_per_user=2)
    own = {"alice": 1, "bob": None, "carol": 3}  # None: no limit of their own

    async def owner_limit(owner: str) -> int | None:
        return own.get(owner)

    manager.owner_limit = owner_limit
    await manager.acquire(key("alice", "conv-1"), hold=True)
    with pytest.raises(TooManyUserSessionsError, match="quota exceeded: sessions") as refused:
        await manager.acquire(key("alice", "conv-2"))
    assert (refused.value.limit, refused.value.own) == (1, True)
    assert refused.value.code == "too_many_sessions_per_user"

    await manager.acquire(key("bob", "conv-1"), hold=True)
    await manager.acquire(key("bob", "conv-2"), hold=True)
    with pytest.raises(TooManyUserSessionsError, match="MAX_SESSIONS_PER_USER") as default:
        await manager.acquire(key("bob", "conv-3"))
    assert (default.value.limit, default.value.own) == (2, False)  # the server's cap

    for purpose in ("conv-1", "conv-2", "conv-3"):  # more than the server's cap per user
        await manager.acquire(key("carol", purpose), hold=True)
    with pytest.raises(TooManyUserSessionsError, match="limit 3"):
        await manager.acquire(key("carol", "conv-4"))


async def test_reusing_a_live_session_does_not_ask_for_the_owners_limit(make_manager) -> None:
    """The limit is a database read in the service: asked only when a session must be made."""
    manager = make_manager()
    asked: list[str] = []

    async def owner_limit(owner: str) -> int | None:
        asked.append(owner)
        await asyncio.sleep(0)  # a real lookup awaits: the books are read again after it
        return None

    manager.owner_limit = owner_limit
    first, _ = await manager.acquire(key("alice", "conv-1"))
    for _ in range(3):
        again, created = await manager.acquire(key("alice", "conv-1"))
        assert (again, created) == (first, False)
    assert asked == ["alice"]
    both = await asyncio.gather(*(manager.acquire(key("alice", "conv-2")) for _ in range(2)))
    assert both[0][0] is both[1][0]
    assert asked == ["alice"] * 3


async def test_code_running_counts_as_in_use(make_manager) -> None:
    manager = make_manager(max_sessions=8, max_sessions_per_user=1)
    busy, _ = await manager.acquire(key("alice", "conv-1"))
    started = asyncio.Event()
    running = asyncio.create_task(
        busy.run_code(
            "import time\nprint('running', flush=True)\ntime.sleep(60)",
            on_stdout=lambda _text: started.set(),
        )
    )
    await asyncio.wait_for(started.wait(), 20)
    with pytest.raises(TooManyUserSessionsError):
        await manager.acquire(key("alice", "conv-2"))
    await busy.interrupt()
    await running
    await manager.acquire(key("alice", "conv-2"))
    assert busy.closed


async def test_when_full_the_longest_idle_session_is_ended_for_another_user(
    make_manager,
) -> None:
    manager = make_manager(max_sessions=2, reclaim_idle_after=1.0)
    idle, _ = await manager.acquire(key("alice"))
    held, _ = await manager.acquire(key("carol"), hold=True)
    await idle.run_code("1")
    with pytest.raises(TooManySessionsError):  # idle, but only just
        await manager.acquire(key("bob"))
    await asyncio.sleep(1.2)
    _bobs, created = await manager.acquire(key("bob"))
    assert created
    assert idle.closed
    assert not held.closed  # held: in use although no code runs
    assert manager.get(key("alice")) is None
    assert len(manager) == 2


async def test_idle_sessions_are_reaped_busy_and_held_ones_are_not(make_manager) -> None:
    manager = make_manager(idle_timeout=0.3, max_hold=60.0)
    idle, _ = await manager.acquire(key("idle"))
    busy, _ = await manager.acquire(key("busy"))
    held, _ = await manager.acquire(key("held"), hold=True)
    running = asyncio.create_task(busy.run_code("import time; time.sleep(1.2)"))
    await asyncio.sleep(0.8)
    assert await manager.reap_idle() == 1
    assert idle.closed
    assert not busy.closed
    assert not held.closed
    await running
    assert manager.get(key("idle")) is None


async def test_a_hold_never_released_is_dropped_in_the_end(make_manager) -> None:
    manager = make_manager(idle_timeout=0.3, max_hold=0.3)
    forgotten, _ = await manager.acquire(key("crashed turn"), hold=True)
    await asyncio.sleep(0.4)
    assert await manager.reap_idle() == 1
    assert forgotten.closed


async def test_the_reaper_runs_by_itself(make_manager) -> None:
    manager = make_manager(idle_timeout=0.2, reap_interval=0.1)
    await manager.start()
    sandbox, _ = await manager.acquire(key("soon idle"))
    for _ in range(50):
        if sandbox.closed:
            break
        await asyncio.sleep(0.1)
    assert sandbox.closed


async def test_after_shutdown_no_session_is_handed_out(make_manager) -> None:
    manager = make_manager()
    sandbox, _ = await manager.acquire(key("alice"))
    await manager.shutdown(end_provider=False)
    assert sandbox.closed
    with pytest.raises(Exception, match="shut down"):
        await manager.acquire(key("alice"))
