"""Turns whose server process ended are marked interrupted, and only those: several server
processes may share one database, on one machine or on several. Other processes are real
processes here (a child that runs, one that has exited); those on another machine are told
apart by their heartbeat only."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from sandbox_analyst.config import Settings
from sandbox_analyst.service import Principal, Services
from sandbox_analyst.service.assistants import AssistantCreate
from sandbox_analyst.service.runners import (
    INTERRUPTED_ERROR,
    STALE_BEATS,
    ProcessIdentity,
    process_start,
)
from sandbox_analyst.store import Message, ServerProcess, new_id, utcnow

HEARTBEAT_S = 10.0


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    settings = settings.model_copy(
        update={"server": settings.server.model_copy(update={"heartbeat_s": HEARTBEAT_S})}
    )
    async with Services.running(settings) as running:
        yield running


@pytest.fixture
def running_child() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        yield child
    finally:
        child.kill()
        child.wait()


@pytest.fixture
def exited_child() -> subprocess.Popen[bytes]:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child


async def add_process(services: Services, **fields: Any) -> str:
    here = ProcessIdentity.current()
    record = ServerProcess(
        hostname=fields.pop("hostname", here.hostname),
        machine=fields.pop("machine", here.machine),
        **fields,
    )
    async with services.db.session() as session:
        session.add(record)
    return record.id


async def streaming_turn(
    services: Services, alice: Principal, runner_id: str | None, *, age_s: float = 0
) -> str:
    assistant = await services.assistants.create(alice, AssistantCreate(name=new_id()))
    conversation = await services.conversations.create(alice, assistant.id)
    message = await services.conversations.append_message(
        conversation.id, "assistant", "half an answer", status="streaming", runner_id=runner_id
    )
    if age_s:
        async with services.db.session() as session:
            await session.execute(
                update(Message)
                .where(Message.id == message.id)
                .values(created_at=utcnow() - timedelta(seconds=age_s))
            )
    return message.id


async def status_of(services: Services, message_id: str) -> tuple[str, str | None, str]:
    async with services.db.session() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        return message.status, message.error, message.content


async def test_turns_of_a_process_that_exited_on_this_machine_are_interrupted_at_once(
    services: Services, alice: Principal, exited_child: subprocess.Popen[bytes]
) -> None:
    dead = await add_process(services, pid=exited_child.pid, process_start=123)
    turn = await streaming_turn(services, alice, dead)

    assert await services.runners.sweep() == [turn]
    status, error, content = await status_of(services, turn)
    assert (status, error, content) == ("interrupted", INTERRUPTED_ERROR, "half an answer")


async def test_turns_of_a_process_still_running_here_are_left_alone_however_silent(
    services: Services, alice: Principal, running_child: subprocess.Popen[bytes]
) -> None:
    assert ProcessIdentity.current().process_start is not None  # Linux: /proc is there
    alive = await add_process(
        services,
        pid=running_child.pid,
        process_start=process_start(running_child.pid),
        heartbeat_at=utcnow() - timedelta(hours=1),
    )
    turn = await streaming_turn(services, alice, alive)

    assert await services.runners.sweep() == []
    assert (await status_of(services, turn))[0] == "streaming"


async def test_a_reused_pid_is_not_taken_for_the_process_that_had_it(
    services: Services, alice: Principal, running_child: subprocess.Popen[bytes]
) -> None:
    start = process_start(running_child.pid)
    assert start is not None
    before = await add_process(services, pid=running_child.pid, process_start=start - 1)
    turn = await streaming_turn(services, alice, before)

    assert await services.runners.sweep() == [turn]


@pytest.mark.parametrize(
    ("silent_beats", "interrupted"), [(1, False), (STALE_BEATS - 1, False), (STALE_BEATS + 1, True)]
)
async def test_a_process_on_another_machine_is_alive_while_its_heartbeat_is(
    services: Services, alice: Principal, silent_beats: int, interrupted: bool
) -> None:
    elsewhere = await add_process(
        services,
        hostname="replica-2",
        machine="another-boot/pid:[1]",
        pid=ProcessIdentity.current().pid,  # the same number means nothing there
        heartbeat_at=utcnow() - timedelta(seconds=silent_beats * HEARTBEAT_S),
    )
    turn = await streaming_turn(services, alice, elsewhere)

    assert await services.runners.sweep() == ([turn] if interrupted else [])
    assert (await status_of(services, turn))[0] == ("interrupted" if interrupted else "streaming")


async def test_a_process_that_left_no_entry_has_ended(services: Services, alice: Principal) -> None:
    turn = await streaming_turn(services, alice, "NoSuchProcess000000000")
    assert await services.runners.sweep() == [turn]


async def test_turns_from_before_runners_existed_end_once_older_than_any_turn(
    services: Services, alice: Principal
) -> None:
    timeout = services.settings.agent.turn_timeout
    recent = await streaming_turn(services, alice, None, age_s=timeout / 2)
    ancient = await streaming_turn(services, alice, None, age_s=timeout * 2)

    assert await services.runners.sweep() == [ancient]
    assert (await status_of(services, recent))[0] == "streaming"


async def test_a_process_never_marks_its_own_turns(services: Services, alice: Principal) -> None:
    turn = await streaming_turn(services, alice, services.runners.id)
    assert await services.runners.sweep() == []
    assert (await status_of(services, turn))[0] == "streaming"


async def test_start_up_sweeps_and_a_stopped_process_removes_its_entry(
    settings: Settings, alice: Principal, services: Services, exited_child: subprocess.Popen[bytes]
) -> None:
    dead = await add_process(services, pid=exited_child.pid)
    turn = await streaming_turn(services, alice, dead)

    async with Services.running(settings) as another:
        assert (await status_of(another, turn))[0] == "interrupted"
        async with another.db.session() as session:
            assert await session.get(ServerProcess, another.runners.id) is not None
            assert await session.get(ServerProcess, dead) is None  # cleaned up
        another_id = another.runners.id
    async with services.db.session() as session:
        assert await session.get(ServerProcess, another_id) is None
