"""`TurnRunner`, the body of a turn, with its collaborators given to it: each step is stored
before it is published, and a step that cannot be stored ends the turn as an internal error
with the code it was running interrupted (not left running), the session kept."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from sandbox_analyst.agent import AgentConfig
from sandbox_analyst.config import Settings
from sandbox_analyst.llm import LLM, create_llm
from sandbox_analyst.service import (
    ChatEvent,
    ChatTurn,
    ErrorCode,
    ErrorEvent,
    MessageEndEvent,
    StdoutEvent,
    ToolCallEvent,
)
from sandbox_analyst.service.chat.runner import TurnRequest, TurnRunner
from sandbox_analyst.service.sandboxes import ConversationSandboxes, StoredFile
from sandbox_analyst.store import Message
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.agent.conftest import MemorySink
from tests.fixtures.models import fake_llm_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")

_conversations = itertools.count()


class NoRecords:
    """A conversation with nothing stored yet."""

    async def uploads(self) -> list[StoredFile]:
        return []

    async def artifacts(self) -> list[StoredFile]:
        return []

    async def successful_cells(self) -> list[str]:
        return []


class ListRecorder:
    """Keeps the steps in a list; fails on the first event of `fail_on`, as a full disk."""

    def __init__(self, fail_on: type | None = None) -> None:
        self.recorded: list[Any] = []
        self.fail_on = fail_on
        self.error: str | None = None
        self.artifact_ids: list[str] = []
        self.finished: str | None = None

    async def record(self, event: Any) -> None:
        if self.fail_on is not None and isinstance(event, self.fail_on):
            raise OSError(28, "No space left on device")
        self.recorded.append(event)

    async def finish(self, status: str, **_: Any) -> None:
        self.finished = status


@pytest_asyncio.fixture(loop_scope="session")
async def llm(fake: FakeLLMServer) -> AsyncIterator[LLM]:
    model = create_llm(Settings(llm=fake_llm_settings(fake, max_retries=0)))
    yield model
    await model.aclose()


async def start(
    llm: LLM, sandboxes: ConversationSandboxes, recorder: ListRecorder, released: list[bool]
) -> ChatTurn:
    conversation_id = f"runner-{next(_conversations)}"
    sandbox = await sandboxes.acquire("runner-owner", conversation_id)
    request = TurnRequest(
        owner_id="runner-owner",
        conversation_id=conversation_id,
        user_message_id="user-message",
        message_id="answer",
        content="Run it.",
        history=[],
        config=AgentConfig(code_timeout=120),
    )
    runner = TurnRunner(
        request,
        llm=llm,
        llm_error=None,
        sandbox=sandbox,
        sandboxes=sandboxes,
        records=NoRecords(),
        artifacts=MemorySink(),
        recorder=recorder,  # type: ignore[arg-type]
        on_finished=lambda: released.append(True),
    )
    user = Message(id="user-message", conversation_id=conversation_id, seq=1, role="user")
    answer = Message(id="answer", conversation_id=conversation_id, seq=2, role="assistant")
    return ChatTurn.start(conversation_id, user, answer, runner.run)


async def test_each_step_is_stored_before_it_is_published(
    fake: FakeLLMServer, llm: LLM, conversation_sandboxes: ConversationSandboxes
) -> None:
    fake.add_turns(
        Turn(tool_calls=[("execute_code", {"code": "print('hello')"})]), Turn(text="Done.")
    )
    recorder, released = ListRecorder(), []
    turn = await start(llm, conversation_sandboxes, recorder, released)

    published: list[ChatEvent] = []
    async for event in turn:
        if isinstance(event, ToolCallEvent | StdoutEvent):
            assert event in recorder.recorded  # already stored when the client sees it
        published.append(event)

    end = published[-1]
    assert isinstance(end, MessageEndEvent)
    assert end.status == "complete"
    assert recorder.finished == "complete"
    assert released == [True]
    await conversation_sandboxes.close(turn.conversation_id)


async def test_a_step_that_cannot_be_stored_fails_the_turn_and_interrupts_its_code(
    fake: FakeLLMServer, llm: LLM, conversation_sandboxes: ConversationSandboxes
) -> None:
    code = "before = 41\nprint('started', flush=True)\nimport time\ntime.sleep(60)\nafter = 1"
    fake.add_turns(Turn(tool_calls=[("execute_code", {"code": code})]), Turn(text="Done."))
    recorder, released = ListRecorder(fail_on=StdoutEvent), []
    turn = await start(llm, conversation_sandboxes, recorder, released)

    events = [event async for event in turn]

    (error,) = [event for event in events if isinstance(event, ErrorEvent)]
    assert error.code is ErrorCode.INTERNAL_ERROR
    assert "No space left on device" in error.message
    end = events[-1]
    assert isinstance(end, MessageEndEvent)
    assert (end.status, end.agent_status) == ("failed", "failed")
    assert recorder.finished == "failed"
    assert released == [True]
    sandbox = conversation_sandboxes.get(turn.conversation_id)
    assert sandbox is not None
    interrupted = await sandbox.run_code("after")
    assert interrupted.error is not None
    assert interrupted.error.name == "NameError"  # the cell never reached its last line
    kept = await sandbox.run_code("before + 1")
    assert kept.text == "42"
    await conversation_sandboxes.close(turn.conversation_id)
