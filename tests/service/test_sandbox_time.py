"""The sandbox time log: every session the manager opens and ends is kept with its owner and
lifetime, and the usage report counts each user's sandbox minutes from it; a session whose
server stopped without ending it counts until that server was last seen alive."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select

from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SessionKey, SessionManager
from sandbox_analyst.sandbox.local import LocalProvider
from sandbox_analyst.service import Principal, Services
from sandbox_analyst.service.sandbox_time import HEARTBEAT_S, sandbox_seconds
from sandbox_analyst.store import SandboxSession
from tests.fixtures.sandboxes import CHAT_SANDBOX

pytestmark = pytest.mark.asyncio(loop_scope="session")

ROOT = Principal("root-id", "root", is_admin=True)
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="session")
async def timed(settings: Settings, local_provider: LocalProvider) -> AsyncIterator[Services]:
    """Services whose session manager (on the shared backend) reports to their time log."""
    sessions = SessionManager.from_settings(local_provider, CHAT_SANDBOX)
    services = Services.from_settings(settings, sessions=sessions)
    await services.start()
    try:
        yield services
    finally:
        await services.stop()
        await sessions.shutdown(end_provider=False)


async def rows(services: Services) -> list[SandboxSession]:
    await services.sandbox_time.flush()
    async with services.db.session() as session:
        return list(await session.scalars(select(SandboxSession)))


async def test_a_session_is_logged_from_its_start_to_its_end(timed: Services) -> None:
    vera = await timed.users.create_user("vera")
    sandbox = await timed.sandboxes.acquire(vera.id, "conversation-1")
    await sandbox.run_code("1 + 1")
    timed.sandboxes.finish("conversation-1", sandbox)

    (opened,) = await rows(timed)
    assert (opened.owner_id, opened.purpose, opened.sandbox_id) == (
        vera.id,
        "conversation-1",
        sandbox.sandbox_id,
    )
    assert opened.ended_at is None

    assert await timed.sandboxes.sessions.end(SessionKey(vera.id, "conversation-1"))
    (ended,) = await rows(timed)
    assert ended.ended_at is not None
    assert ended.end_reason == "ended"
    assert ended.ended_at >= ended.started_at
    async with timed.db.session() as session:
        seconds = await sandbox_seconds(session, [vera.id], None)
    assert seconds[vera.id] == (ended.ended_at - ended.started_at).total_seconds()


async def test_usage_counts_minutes_in_the_period_and_a_stopped_servers_until_last_seen(
    timed: Services,
) -> None:
    wes = await timed.users.create_user("wes")
    async with timed.db.session() as session:
        session.add_all(
            [
                # Ended: 30 minutes, 10 of them after NOW - 40 min.
                SandboxSession(
                    sandbox_id="ended",
                    owner_id=wes.id,
                    purpose="a",
                    backend="local",
                    started_at=NOW - timedelta(minutes=60),
                    last_seen_at=NOW - timedelta(minutes=30),
                    ended_at=NOW - timedelta(minutes=30),
                    end_reason="idle",
                ),
                # Its server stopped without ending it, last seen 10 minutes ago.
                SandboxSession(
                    sandbox_id="orphaned",
                    owner_id=wes.id,
                    purpose="b",
                    backend="local",
                    started_at=NOW - timedelta(minutes=25),
                    last_seen_at=NOW - timedelta(minutes=10),
                ),
                # Open, kept fresh by its server: until now.
                SandboxSession(
                    sandbox_id="live",
                    owner_id=wes.id,
                    purpose="c",
                    backend="local",
                    started_at=NOW - timedelta(minutes=5),
                    last_seen_at=NOW - timedelta(seconds=HEARTBEAT_S / 2),
                ),
            ]
        )
    async with timed.db.session() as session:
        ever = await sandbox_seconds(session, [wes.id], None, now=NOW)
        lately = await sandbox_seconds(session, [wes.id], NOW - timedelta(minutes=40), now=NOW)
        later = await sandbox_seconds(session, [wes.id], NOW - timedelta(minutes=20), now=NOW)
    assert ever[wes.id] == (30 + 15 + 5) * 60
    assert lately[wes.id] == (10 + 15 + 5) * 60
    assert later[wes.id] == (10 + 5) * 60  # the ended one is outside

    (report,) = await timed.usage.report(ROOT, user="wes")
    assert report.sandbox_minutes >= 30 + 15  # the live one counts until the real now


async def test_a_session_reached_again_by_its_stored_id_is_alive_again(timed: Services) -> None:
    yan = await timed.users.create_user("yan")
    key = SessionKey(yan.id, "conversation-2")
    sandbox = await timed.sandboxes.acquire(yan.id, "conversation-2")
    timed.sandboxes.finish("conversation-2", sandbox)
    timed.sandbox_time.ended(key, sandbox, "shutdown")  # as a server stopping would say
    (stopped,) = await rows(timed)
    assert stopped.ended_at is not None

    timed.sandbox_time.opened(key, sandbox, created=False)  # the next server reconnects
    (again,) = await rows(timed)
    assert (again.id, again.ended_at, again.end_reason) == (stopped.id, None, None)
