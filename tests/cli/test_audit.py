"""`analyst audit prune`: deletes the audit log records older than an age (or than the
configured retention) and says how many went from each log."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from sandbox_analyst.config import Settings
from sandbox_analyst.service import Services
from sandbox_analyst.store import EgressConnection, utcnow


def stored_connections(settings: Settings, *ages_in_days: int) -> None:
    async def store() -> None:
        async with Services.running(settings) as services, services.db.session() as session:
            session.add_all(
                EgressConnection(
                    sandbox_id="sb-1",
                    method="CONNECT",
                    host="data.example",
                    port=443,
                    allowed=True,
                    reason="listed",
                    started_at=utcnow() - timedelta(days=age),
                )
                for age in ages_in_days
            )

    asyncio.run(store())


def test_prune_deletes_what_is_older_than_the_age_given(analyst, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    stored_connections(settings, 90, 60, 5)

    pruned = analyst("audit", "prune", "--older-than", "30", "--json")
    log = analyst("egress", "log", "--json")

    assert pruned.exit_code == 0, pruned.output
    assert json.loads(pruned.stdout) == {
        "older_than_days": 30,
        "deleted": {
            "egress_connections": 2,
            "sandbox_sessions": 0,
            "database_queries": 0,
            "mcp_tool_calls": 0,
        },
    }
    assert len(json.loads(log.stdout)) == 1


def test_prune_defaults_to_the_configured_retention(  # type: ignore[no-untyped-def]
    analyst, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored_connections(settings, 90, 5)
    monkeypatch.setenv("ANALYST_AUDIT__RETENTION_DAYS", "30")

    pruned = analyst("audit", "prune")

    assert pruned.exit_code == 0, pruned.output
    assert "egress_connections: 1 deleted" in pruned.stdout
    assert "1 records older than 30 days deleted" in pruned.stdout


def test_prune_without_an_age_or_a_retention_is_refused(analyst, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    stored_connections(settings, 90)

    pruned = analyst("audit", "prune")
    log = analyst("egress", "log", "--json")

    assert pruned.exit_code == 2
    assert "--older-than" in pruned.output
    assert len(json.loads(log.stdout)) == 1  # nothing lost
