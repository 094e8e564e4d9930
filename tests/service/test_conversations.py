"""Conversations: messages in order as a turn streams, the execution log, and deletion
that takes the conversation's files, blobs and sandbox with it."""

from __future__ import annotations

import asyncio

import pytest

from sandbox_analyst.service import (
    AssistantCreate,
    NotFound,
    Principal,
    Services,
    ValidationError,
)
from sandbox_analyst.store import as_stream


class RecordingCloser:
    def __init__(self) -> None:
        self.closed: list[str] = []

    async def close(self, conversation_id: str) -> None:
        self.closed.append(conversation_id)


@pytest.fixture
async def conversation_id(services: Services, alice: Principal) -> str:
    assistant = await services.assistants.create(alice, AssistantCreate(name="a"))
    return (await services.conversations.create(alice, assistant.id, title="Q3")).id


async def test_a_turn_streams_into_its_message(
    services: Services, alice: Principal, conversation_id: str
) -> None:
    conversations = services.conversations
    await conversations.append_message(conversation_id, "user", "plot sales")
    reply = await conversations.append_message(conversation_id, "assistant", status="pending")
    await conversations.update_message(reply.id, status="streaming", append_content="Here ")
    await conversations.update_message(
        reply.id,
        append_content="it is.",
        tool_calls=[{"id": "c1", "name": "execute_code", "arguments": {"code": "1+1"}}],
        tool_results=[{"tool_call_id": "c1", "output": "2"}],
        artifact_ids=["art1"],
        usage={"input_tokens": 10, "output_tokens": 5},
        status="complete",
    )
    detail = await conversations.get(alice, conversation_id)
    assert [(m.seq, m.role) for m in detail.messages] == [(1, "user"), (2, "assistant")]
    final = detail.messages[1]
    assert (final.content, final.status, final.artifact_ids) == (
        "Here it is.",
        "complete",
        ["art1"],
    )
    assert final.tool_calls[0]["name"] == "execute_code"
    assert final.usage == {"input_tokens": 10, "output_tokens": 5}


async def test_message_roles_and_statuses_are_checked(
    services: Services, conversation_id: str
) -> None:
    with pytest.raises(ValidationError):
        await services.conversations.append_message(conversation_id, "robot", "hi")  # type: ignore[arg-type]
    message = await services.conversations.append_message(conversation_id, "user", "hi")
    with pytest.raises(ValidationError):
        await services.conversations.update_message(message.id, status="done")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await services.conversations.append_message("nope", "user", "hi")


async def test_deleting_takes_files_blobs_and_sandbox_along(
    services: Services, alice: Principal, conversation_id: str
) -> None:
    closer = RecordingCloser()
    services.conversations.sandboxes = closer
    upload = await services.files.upload(
        alice, as_stream(b"a,b\n1,2\n"), filename="d.csv", conversation_id=conversation_id
    )
    artifact = await services.files.create_artifact(
        alice.user_id, conversation_id, "plot.png", b"\x89PNG...", "image/png"
    )
    elsewhere = await services.files.upload(alice, as_stream(b"x\n"), filename="keep.txt")
    await services.conversations.append_message(conversation_id, "user", "hi")
    await services.conversations.append_execution(
        conversation_id, alice.user_id, code="1+1", status="ok", duration_s=0.01, stdout="2"
    )

    await services.conversations.delete(alice, conversation_id)

    assert closer.closed == [conversation_id]
    with pytest.raises(NotFound):
        await services.conversations.get(alice, conversation_id)
    for gone in (upload, artifact):
        with pytest.raises(NotFound):
            await services.files.get(alice, gone.id)
        assert services.blobs.path_for(gone.storage_key) is None
    assert (await services.files.get(alice, elsewhere.id)).name == "keep.txt"
    # The execution log is an audit trail: it outlives the conversation.
    log = await services.conversations.list_executions(alice, conversation_id)
    assert [(e.code, e.stdout) for e in log] == [("1+1", "2")]


async def test_a_failing_sandbox_close_does_not_stop_the_delete(
    services: Services, alice: Principal, conversation_id: str
) -> None:
    class Broken:
        async def close(self, conversation_id: str) -> None:
            raise RuntimeError("sandbox already gone")

    services.conversations.sandboxes = Broken()
    await services.conversations.delete(alice, conversation_id)
    assert await services.conversations.list(alice) == []


async def test_executions_are_visible_to_their_owner_only(
    services: Services, alice: Principal, bob: Principal, root: Principal, conversation_id: str
) -> None:
    await services.conversations.append_execution(
        conversation_id, alice.user_id, code="x", status="error", error={"name": "E"}
    )
    assert await services.conversations.list_executions(bob, conversation_id) == []
    assert len(await services.conversations.list_executions(root, conversation_id)) == 1


async def test_concurrent_appends_get_distinct_places_in_order(
    services: Services, conversation_id: str
) -> None:
    messages = await asyncio.gather(
        *(services.conversations.append_message(conversation_id, "user", str(i)) for i in range(20))
    )
    assert sorted(m.seq for m in messages) == list(range(1, 21))
