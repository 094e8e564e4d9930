"""`analyst egress log`: the egress audit log from the server's database, newest first,
filtered by user, session and outcome; as a table or JSON."""

from __future__ import annotations

import asyncio
import json
import time

from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox.egress import EgressRecord
from sandbox_analyst.service import Services


def stored_connections(settings: Settings) -> None:
    """Two connections of alice's session (one refused), one of bob's, as the proxy records
    them."""

    async def store() -> None:
        async with Services.running(settings) as services:
            alice = await services.users.create_user("alice")
            bob = await services.users.create_user("bob")
            now = time.time()
            for owner, host, allowed, started in (
                (alice.id, "data.example", True, now - 60),
                (alice.id, "evil.example", False, now - 30),
                (bob.id, "data.example", True, now - 10),
            ):
                services.egress.record(
                    EgressRecord(
                        f"sandbox-of-{owner}",
                        "CONNECT",
                        host,
                        443,
                        None,
                        allowed,
                        "listed" if allowed else f"{host}:443 is not in the egress allow-list",
                        bytes_sent=100,
                        bytes_received=2000,
                        started_at=started,
                        labels={"owner": owner, "purpose": "conversation-1"},
                    )
                )
            await services.egress.flush()

    asyncio.run(store())


def test_the_log_lists_connections_newest_first_and_filters(analyst, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    stored_connections(settings)

    everything = analyst("egress", "log", "--json")
    alices = analyst("egress", "log", "--json", "--user", "alice")
    refused = analyst("egress", "log", "--json", "--denied")
    table = analyst("egress", "log", "--user", "alice")

    assert everything.exit_code == 0, everything.output
    assert [row["host"] for row in json.loads(everything.stdout)] == [
        "data.example",
        "evil.example",
        "data.example",
    ]
    assert [row["allowed"] for row in json.loads(alices.stdout)] == [False, True]
    (denied,) = json.loads(refused.stdout)
    assert denied["reason"] == "evil.example:443 is not in the egress allow-list"
    assert denied["purpose"] == "conversation-1"
    assert "evil.example" in table.stdout
    assert "denied" in table.stdout


def test_an_unknown_user_and_a_bad_date_are_errors(analyst, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    stored_connections(settings)

    unknown = analyst("egress", "log", "--user", "nobody")
    assert unknown.exit_code == 1
    assert "no user named 'nobody'" in unknown.output
    assert analyst("egress", "log", "--since", "last week").exit_code == 2
    assert "no egress connections" in analyst("egress", "log", "--since", "2999-01-01").stdout
