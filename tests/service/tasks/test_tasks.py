"""Agent tasks end to end on real services: the scripted model drives the coding tools in a
real sandbox; the result (summary, files with sizes, hashes and diffs), the step log and the
access rules are read back from the database and the blob store."""

from __future__ import annotations

import hashlib
import json

import pytest

from sandbox_analyst.agent import Approval
from sandbox_analyst.sandbox.local import LocalSandbox
from sandbox_analyst.service import (
    NotFound,
    Permission,
    Services,
    TaskInput,
    TaskRequest,
    ValidationError,
)
from sandbox_analyst.store import Task
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.service.tasks.conftest import events_of, finished, user

pytestmark = pytest.mark.asyncio(loop_scope="session")

CALCULATOR = """\
import sys


def calculate(a, op, b):
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    raise ValueError(f"unknown operator {op!r}")


if __name__ == "__main__":
    a, op, b = float(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    result = calculate(a, op, b)
    print(int(result) if result == int(result) else result)
"""
README = "# Calculator\n\n    python calculator.py 2 + 3   # prints 5\n"
SUMMARY = "Created calculator.py (+, -, *, /) and README.md; `python calculator.py 2 + 3` prints 5."


def _tool_messages(body: dict) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


async def test_the_calculator_task_creates_both_files_and_the_program_works(
    model_services: Services, fake: FakeLLMServer, sandbox: LocalSandbox
) -> None:
    alice = await user(model_services, "alice")
    fake.add_turns(
        Turn(tool_calls=[("write_file", {"path": "calculator.py", "content": CALCULATOR})]),
        Turn(tool_calls=[("write_file", {"path": "README.md", "content": README})]),
        Turn(tool_calls=[("bash", {"command": "python calculator.py 2 + 3"})]),
        Turn(text=SUMMARY),
    )
    prompt = "Create a simple Python calculator: calculator.py and a README.md with usage"

    run = await model_services.tasks.start(alice, TaskRequest(prompt))
    events = await events_of(run)
    detail = await finished(model_services, alice, run)

    assert detail.task.status == "complete"
    assert detail.task.summary == SUMMARY
    assert events[0].type == "task_start"
    assert events[-1].type == "task_end"
    assert events[-1].status == "complete"
    ran = [e for e in events if e.type == "tool_result" and e.tool == "bash"]
    assert "5" in ran[0].stdout
    by_path = {record.path: record for record in detail.files}
    assert set(by_path) == {"calculator.py", "README.md"}
    calculator = by_path["calculator.py"]
    assert calculator.change == "created"
    assert calculator.size == len(CALCULATOR.encode())
    assert calculator.sha256 == hashlib.sha256(CALCULATOR.encode()).hexdigest()
    kinds = [step.kind for step in detail.steps]
    assert kinds[0] == "task_start"
    assert kinds.count("tool_call") == 3
    assert kinds.count("tool_result") == 3
    assert kinds[-1] == "task_end"
    # The stored program works: run it in a sandbox of the test's own.
    content = await model_services.tasks.file(alice, run.task_id, "calculator.py")
    await sandbox.files.write("calculator.py", b"".join([c async for c in content.chunks]))
    result = await sandbox.run_command("python calculator.py 6 '*' 7")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "42"


async def test_a_failing_command_is_fed_back_and_the_model_fixes_it(
    model_services: Services, fake: FakeLLMServer
) -> None:
    alice = await user(model_services, "alice")
    seen: list[str] = []

    def fix_after_reading_the_error(body: dict) -> Turn:
        seen.append(_tool_messages(body)[-1])
        return Turn(tool_calls=[("edit_file", {"path": "hello.py", "old": "prnt", "new": "print"})])

    fake.add_turns(
        Turn(tool_calls=[("write_file", {"path": "hello.py", "content": "prnt('hello')\n"})]),
        Turn(tool_calls=[("bash", {"command": "python hello.py"})]),
        fix_after_reading_the_error,
        Turn(tool_calls=[("bash", {"command": "python hello.py"})]),
        Turn(text="Fixed the typo; hello.py prints hello."),
    )

    run = await model_services.tasks.start(alice, TaskRequest("Write hello.py and run it"))
    events = await events_of(run)
    detail = await finished(model_services, alice, run)

    assert "CommandExitError: exit code 1" in seen[0]
    assert "NameError" in seen[0]
    first, second = [e for e in events if e.type == "tool_result" and e.tool == "bash"]
    assert not first.success
    assert second.success
    assert second.stdout.strip() == "hello"
    assert detail.task.status == "complete"


async def test_a_changed_input_gets_a_unified_diff(
    model_services: Services, fake: FakeLLMServer
) -> None:
    alice = await user(model_services, "alice")
    original = "def area(r):\n    return 3 * r * r\n"
    fake.add_turns(
        Turn(tool_calls=[("edit_file", {"path": "geo.py", "old": "3 * r", "new": "3.14159 * r"})]),
        Turn(text="Used a better value of pi."),
    )
    request = TaskRequest("Make area() exact", inputs=[TaskInput("geo.py", original.encode())])

    run = await model_services.tasks.start(alice, request)
    detail = await finished(model_services, alice, run)

    (record,) = detail.files
    assert record.path == "geo.py"
    assert record.change == "modified"
    assert "-    return 3 * r * r" in record.diff
    assert "+    return 3.14159 * r * r" in record.diff
    assert record.diff.startswith("--- a/geo.py\n+++ b/geo.py\n")


async def test_confirm_mode_refusing_a_command_tells_the_model_and_runs_nothing(
    model_services: Services, fake: FakeLLMServer
) -> None:
    alice = await user(model_services, "alice")
    asked: list[str] = []
    seen: list[str] = []

    async def refuse(command: str) -> Approval:
        asked.append(command)
        return Approval(False, "not on my machine")

    def after_the_refusal(body: dict) -> Turn:
        seen.append(_tool_messages(body)[-1])
        return Turn(text="I did not delete anything: the command was refused.")

    fake.add_turns(
        Turn(tool_calls=[("bash", {"command": "rm -rf data.txt"})]),
        after_the_refusal,
    )
    request = TaskRequest(
        "Clean up",
        inputs=[TaskInput("data.txt", b"keep me\n")],
        permission=Permission.CONFIRM,
    )

    run = await model_services.tasks.start(alice, request, decide=refuse)
    events = await events_of(run)
    detail = await finished(model_services, alice, run)

    assert asked == ["rm -rf data.txt"]
    assert "CommandRefused" in seen[0]
    assert "not on my machine" in seen[0]
    assert detail.files == []  # data.txt untouched
    kinds = [e.type for e in events]
    assert kinds.index("confirm") < kinds.index("confirm_answer") < kinds.index("tool_result")
    assert [s.kind for s in detail.steps].count("confirm_answer") == 1


async def test_confirm_mode_over_the_service_waits_for_an_answer(
    model_services: Services, fake: FakeLLMServer
) -> None:
    alice = await user(model_services, "alice")
    fake.add_turns(
        Turn(tool_calls=[("bash", {"command": "echo allowed > out.txt"})]),
        Turn(text="Wrote out.txt."),
    )
    request = TaskRequest("Write out.txt", permission=Permission.CONFIRM)

    run = await model_services.tasks.start(alice, request)
    index = 0
    while (event := await run.next_event(index)).type != "confirm":
        index += 1
    await model_services.tasks.answer(alice, run.task_id, event.confirmation_id, allowed=True)
    detail = await finished(model_services, alice, run)

    assert detail.task.status == "complete"
    assert [record.path for record in detail.files] == ["out.txt"]


async def test_the_task_timeout_stops_the_agent_and_its_command(
    model_services: Services, fake: FakeLLMServer
) -> None:
    alice = await user(model_services, "alice")
    fake.add_turns(
        Turn(tool_calls=[("bash", {"command": "echo started > begun.txt; sleep 60; touch late"})]),
        Turn(text="never asked"),
    )

    run = await model_services.tasks.start(alice, TaskRequest("Take long", timeout=3))
    events = await events_of(run)
    detail = await finished(model_services, alice, run)

    assert detail.task.status == "timed_out"
    assert "3 s" in detail.task.error
    assert events[-1].status == "timed_out"
    assert [record.path for record in detail.files] == ["begun.txt"]  # `late` never came
    assert len(fake.model_requests) == 1  # the model was not asked again


async def test_cancelling_a_task_kills_its_command_and_keeps_what_it_made(
    model_services: Services, fake: FakeLLMServer
) -> None:
    alice = await user(model_services, "alice")
    command = "echo x > made.txt; echo ready; sleep 60; touch late"
    fake.add_turns(Turn(tool_calls=[("bash", {"command": command})]))

    run = await model_services.tasks.start(alice, TaskRequest("Take long"))
    index = 0
    while (await run.next_event(index)).type != "stdout":
        index += 1
    assert await model_services.tasks.cancel(alice, run.task_id)
    detail = await finished(model_services, alice, run)

    assert detail.task.status == "cancelled"
    assert [record.path for record in detail.files] == ["made.txt"]
    assert not await model_services.tasks.cancel(alice, run.task_id)


async def test_paths_outside_the_workdir_are_refused_and_nothing_escapes(
    model_services: Services, fake: FakeLLMServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    alice = await user(model_services, "alice")
    for name in ("../../etc/passwd", "/etc/passwd", "a/../../x"):
        with pytest.raises(ValidationError, match="inside the working directory"):
            await model_services.tasks.start(
                alice, TaskRequest("x", inputs=[TaskInput(name, b"owned")])
            )
    fake.add_turns(
        Turn(tool_calls=[("write_file", {"path": "../escaped.txt", "content": "owned"})]),
        Turn(tool_calls=[("read_file", {"path": "/etc/passwd"})]),
        Turn(text="I could not leave the working directory."),
    )

    run = await model_services.tasks.start(alice, TaskRequest("Escape"))
    events = await events_of(run)
    detail = await finished(model_services, alice, run)

    refused = [e for e in events if e.type == "tool_result"]
    assert [e.success for e in refused] == [False, False]
    assert all("InvalidArguments" in e.observation for e in refused)
    assert detail.files == []
    assert not list(tmp_path_factory.getbasetemp().rglob("escaped.txt"))


async def test_another_user_cannot_see_the_task(
    model_services: Services, fake: FakeLLMServer
) -> None:
    alice, bob = await user(model_services, "alice"), await user(model_services, "bob")
    fake.add_turns(
        Turn(tool_calls=[("write_file", {"path": "secret.txt", "content": "alice's"})]),
        Turn(text="Done."),
    )
    run = await model_services.tasks.start(alice, TaskRequest("Write a secret"))
    await finished(model_services, alice, run)

    assert await model_services.tasks.list(bob) == []
    assert [task.id for task in await model_services.tasks.list(alice)] == [run.task_id]
    for attempt in (
        model_services.tasks.get(bob, run.task_id),
        model_services.tasks.file(bob, run.task_id, "secret.txt"),
        model_services.tasks.result_zip(bob, run.task_id),
        model_services.tasks.cancel(bob, run.task_id),
    ):
        with pytest.raises(NotFound):
            await attempt


async def test_the_step_log_is_json_and_says_what_happened(
    model_services: Services, fake: FakeLLMServer
) -> None:
    alice = await user(model_services, "alice")
    fake.add_turns(
        Turn(text="Let me look.", tool_calls=[("glob", {"pattern": "**/*"})]),
        Turn(text="Nothing here yet."),
    )
    run = await model_services.tasks.start(alice, TaskRequest("Look around", max_steps=3))
    detail = await finished(model_services, alice, run)

    steps = [(step.kind, step.data) for step in detail.steps]
    json.dumps([data for _, data in steps])  # storable and sendable as it is
    assert steps[1] == ("message", {"text": "Let me look."})
    assert steps[2][0] == "tool_call"
    assert steps[2][1]["tool"] == "glob"
    assert steps[-2] == ("message", {"text": "Nothing here yet."})


async def test_a_task_that_spends_its_steps_ends_max_steps_with_the_agents_account(
    model_services: Services, fake: FakeLLMServer
) -> None:
    alice = await user(model_services, "alice")
    fake.add_turns(
        Turn(tool_calls=[("bash", {"command": "echo step > one.txt"})]),
        Turn(text="I wrote one.txt but ran out of steps before the rest."),
    )

    run = await model_services.tasks.start(alice, TaskRequest("Do three things", max_steps=1))
    detail = await finished(model_services, alice, run)

    assert detail.task.status == "max_steps"
    assert detail.task.max_steps == 1
    assert "ran out of steps" in detail.task.summary
    assert "1 steps" in detail.task.error
    assert [record.path for record in detail.files] == ["one.txt"]


async def test_tasks_left_running_by_a_server_that_is_gone_are_marked_interrupted(
    model_services: Services,
) -> None:
    alice = await user(model_services, "alice")
    async with model_services.db.session() as session:
        orphan = Task(
            owner_id=alice.user_id,
            prompt="left behind",
            template="default",
            permission="allow",
            max_steps=5,
            timeout_s=60.0,
            status="running",
            summary="",
            runner_id="a-process-that-ended",
        )
        session.add(orphan)

    assert await model_services.tasks.sweep() == 1
    detail = await model_services.tasks.get(alice, orphan.id)
    assert detail.task.status == "interrupted"
    assert detail.task.error == "the server stopped"
