"""Audit retention: the logs of what sessions did lose their records older than the retention,
in batches; a live sandbox session's record stays however old; with no retention set nothing
is swept."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from sandbox_analyst.config import AuditSettings
from sandbox_analyst.service import AuditRetention, PruneReport, Services
from sandbox_analyst.service import audit_retention as retention_module
from sandbox_analyst.store import (
    DatabaseQuery,
    EgressConnection,
    McpToolCall,
    SandboxSession,
    utcnow,
)

LOGS = (EgressConnection, SandboxSession, DatabaseQuery, McpToolCall)


def records(at: datetime, tag: str) -> list[object]:
    """One record of each log, made at `at`; the session ended then."""
    return [
        EgressConnection(
            sandbox_id=f"sb-{tag}",
            method="CONNECT",
            host="data.example",
            port=443,
            allowed=True,
            reason="listed",
            started_at=at,
        ),
        SandboxSession(
            sandbox_id=f"sb-{tag}",
            owner_id="alice-id",
            purpose="conversation",
            backend="local",
            started_at=at,
            last_seen_at=at,
            ended_at=at,
        ),
        DatabaseQuery(
            owner_id="alice-id",
            connection_id="warehouse-id",
            connection_name="warehouse",
            operation="query",
            outcome="ok",
            created_at=at,
        ),
        McpToolCall(
            server_id="files-id",
            server_name="files",
            tool="read",
            owner_id="alice-id",
            outcome="ok",
            started_at=at,
        ),
    ]


async def store(services: Services, rows: list[object]) -> None:
    async with services.db.session() as session:
        session.add_all(rows)


async def counts(services: Services) -> dict[str, int]:
    async with services.db.session() as session:
        return {
            log.__tablename__: await session.scalar(select(func.count()).select_from(log)) or 0
            for log in LOGS
        }


async def test_records_older_than_the_age_go_and_newer_ones_stay(services: Services) -> None:
    now = utcnow()
    await store(services, records(now - timedelta(days=40), "old"))
    await store(services, records(now - timedelta(days=10), "recent"))

    report = await services.audit.prune(timedelta(days=30))

    assert report == PruneReport(1, 1, 1, 1)
    assert report.total == 4
    assert await counts(services) == {log.__tablename__: 1 for log in LOGS}


async def test_a_session_still_alive_stays_however_long_ago_it_started(
    services: Services,
) -> None:
    now = utcnow()
    long_ago = now - timedelta(days=400)
    alive = SandboxSession(
        sandbox_id="sb-alive",
        owner_id="alice-id",
        purpose="conversation",
        backend="local",
        started_at=long_ago,
        last_seen_at=now,  # its server refreshed it a minute ago
    )
    lost = SandboxSession(
        sandbox_id="sb-lost",
        owner_id="alice-id",
        purpose="conversation",
        backend="local",
        started_at=long_ago,
        last_seen_at=long_ago,  # its server died without ending it
    )
    await store(services, [alive, lost])

    report = await services.audit.prune(timedelta(days=30))

    assert report.sandbox_sessions == 1
    async with services.db.session() as session:
        assert list(await session.scalars(select(SandboxSession.sandbox_id))) == ["sb-alive"]


async def test_a_backlog_goes_in_batches_until_none_is_left(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention_module, "BATCH_ROWS", 2)
    old = utcnow() - timedelta(days=40)
    await store(services, [row for n in range(5) for row in records(old, f"old-{n}")])

    report = await services.audit.prune(timedelta(days=30))

    assert report == PruneReport(5, 5, 5, 5)
    assert await counts(services) == {log.__tablename__: 0 for log in LOGS}


async def test_a_server_with_a_retention_sweeps_as_it_starts(services: Services) -> None:
    await store(services, records(utcnow() - timedelta(days=40), "old"))
    retention = AuditRetention(services.db, AuditSettings(retention_days=30))
    swept: list[timedelta] = []
    done = asyncio.Event()
    prune = retention.prune

    async def observed_prune(older_than: timedelta) -> PruneReport:
        report = await prune(older_than)
        swept.append(older_than)
        done.set()
        return report

    retention.prune = observed_prune  # type: ignore[method-assign]
    retention.start()
    try:
        await done.wait()  # the sweep runs in the background
    finally:
        await retention.stop()

    assert swept == [timedelta(days=30)]
    assert await counts(services) == {log.__tablename__: 0 for log in LOGS}


async def test_without_a_retention_nothing_is_swept(services: Services) -> None:
    await store(services, records(utcnow() - timedelta(days=4000), "ancient"))
    retention = AuditRetention(services.db, AuditSettings())
    asked: list[timedelta] = []

    async def observed_prune(older_than: timedelta) -> PruneReport:
        asked.append(older_than)
        return PruneReport()

    retention.prune = observed_prune  # type: ignore[method-assign]
    retention.start()
    await asyncio.sleep(0)  # a sweep started would be under way by now
    await retention.stop()

    assert asked == []
    assert await counts(services) == {log.__tablename__: 1 for log in LOGS}
