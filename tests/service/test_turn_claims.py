"""Turn ownership kept in the database, for several server processes (replicas) on one
database: one streaming turn per conversation, claimed atomically; cancel requests any replica
can store and the running one finds; a local-backend conversation pinned to the live replica
holding its sandbox."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from sandbox_analyst.service import Conflict, OnAnotherReplica, Principal, Services
from sandbox_analyst.service.assistants import AssistantCreate
from sandbox_analyst.service.chat.records import StoredSandboxIds
from sandbox_analyst.service.turn_claims import TurnAlreadyRunning, TurnClaims
from sandbox_analyst.store import Conversation, ServerProcess, new_id, utcnow


async def new_conversation(services: Services, alice: Principal) -> str:
    assistant = await services.assistants.create(alice, AssistantCreate(name=new_id()))
    return (await services.conversations.create(alice, assistant.id)).id


async def end_turn(services: Services, message_id: str) -> None:
    await services.conversations.update_message(message_id, status="complete")


async def test_a_second_turn_is_refused_while_one_streams_and_taken_once_it_ends(
    services: Services, alice: Principal
) -> None:
    claims = TurnClaims(services.db)
    conversation = await new_conversation(services, alice)
    user, assistant = await claims.claim(conversation, "first", runner_id="replica-a")
    assert (user.role, user.seq, assistant.status, assistant.seq) == ("user", 1, "streaming", 2)
    assert assistant.runner_id == "replica-a"

    with pytest.raises(TurnAlreadyRunning) as refused:
        await claims.claim(conversation, "second", runner_id="replica-b")
    assert refused.value.http_status == 409
    assert f"/api/conversations/{conversation}/cancel" in refused.value.message
    detail = await services.conversations.get(alice, conversation)
    assert [m.content for m in detail.messages] == ["first", ""]  # nothing half-stored

    await end_turn(services, assistant.id)
    _, next_turn = await claims.claim(conversation, "second", runner_id="replica-b")
    assert next_turn.seq == 4


async def test_of_racing_replicas_exactly_one_starts_the_turn(
    services: Services, alice: Principal
) -> None:
    conversation = await new_conversation(services, alice)
    replicas = [TurnClaims(services.db) for _ in range(4)]
    outcomes = await asyncio.gather(
        *(
            claims.claim(conversation, f"from {n}", runner_id=f"replica-{n}")
            for n, claims in enumerate(replicas)
        ),
        return_exceptions=True,
    )
    started = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, TurnAlreadyRunning)]
    assert (len(started), len(refused)) == (1, 3), outcomes
    detail = await services.conversations.get(alice, conversation)
    assert [m.status for m in detail.messages] == ["complete", "streaming"]


async def test_the_streaming_index_refuses_what_a_racing_writer_would_slip_past(
    services: Services, alice: Principal
) -> None:
    # Even a writer that skips the check cannot store a second streaming turn.
    conversation = await new_conversation(services, alice)
    await TurnClaims(services.db).claim(conversation, "first", runner_id=None)
    with pytest.raises(Conflict):
        await services.conversations.append_message(conversation, "assistant", status="streaming")


async def test_a_cancel_request_reaches_the_replica_running_the_turn(
    services: Services, alice: Principal
) -> None:
    claims = TurnClaims(services.db)
    conversation = await new_conversation(services, alice)
    assert await claims.request_cancel(conversation) is False  # nothing runs

    _, turn = await claims.claim(conversation, "long job", runner_id="replica-a")
    assert await claims.cancel_requested([turn.id]) == []
    assert await claims.request_cancel(conversation) is True
    assert await claims.cancel_requested([turn.id, new_id()]) == [turn.id]

    await end_turn(services, turn.id)
    assert await claims.cancel_requested([turn.id]) == []  # ended: nothing left to cancel
    assert await claims.request_cancel(conversation) is False


async def holder(services: Services, *, silent_s: float) -> str:
    """A replica on another machine, last heard from `silent_s` ago."""
    record = ServerProcess(
        hostname="replica-2",
        machine="another-boot/another-namespace",
        pid=4242,
        url="http://10.0.0.2:8000",
        heartbeat_at=utcnow() - timedelta(seconds=silent_s),
    )
    async with services.db.session() as session:
        session.add(record)
    return record.id


async def pin(services: Services, conversation_id: str, runner_id: str) -> None:
    async with services.db.session() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(sandbox_id=new_id(), sandbox_runner_id=runner_id)
        )


async def test_a_local_sandbox_held_by_a_live_replica_sends_its_turns_there(
    services: Services, alice: Principal
) -> None:
    assert services.settings.sandbox.backend == "local"
    conversation = await new_conversation(services, alice)
    await pin(services, conversation, await holder(services, silent_s=1))

    with pytest.raises(OnAnotherReplica) as refused:
        await services.chat.start_turn(alice, conversation, "Go on")
    assert (refused.value.code, refused.value.http_status) == (
        "conversation_on_another_replica",
        421,
    )
    assert "http://10.0.0.2:8000" in refused.value.message
    detail = await services.conversations.get(alice, conversation)
    assert detail.messages == []  # refused before anything was stored


async def test_a_conversation_of_a_replica_that_is_gone_is_no_longer_pinned(
    services: Services,
) -> None:
    stale = services.settings.server.heartbeat_s * 10
    gone = await holder(services, silent_s=stale)
    assert await services.runners.live_elsewhere(gone) is None
    assert await services.runners.live_elsewhere(new_id()) is None  # left no row at all
    assert await services.runners.live_elsewhere(services.runners.id) is None  # this one
    alive = await holder(services, silent_s=0)
    found = await services.runners.live_elsewhere(alive)
    assert found is not None
    assert found.url == "http://10.0.0.2:8000"


async def test_a_conversation_made_here_records_this_replica_as_its_sandbox_holder(
    services: Services, alice: Principal
) -> None:
    conversation = await new_conversation(services, alice)
    await StoredSandboxIds(services.db, runner_id=services.runners.id).save(conversation, "sb-1")
    async with services.db.session() as session:
        stored = await session.get(Conversation, conversation)
        assert stored is not None
        assert (stored.sandbox_id, stored.sandbox_runner_id) == ("sb-1", services.runners.id)
