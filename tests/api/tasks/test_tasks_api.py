"""`/api/tasks` end to end: start a task (JSON or multipart), follow its events, read its
result, download its files one by one and as a zip, answer a command waiting in the confirm
mode; bad input is refused with a clear error; another user gets 404."""

from __future__ import annotations

import asyncio
import io
import zipfile

import httpx
import pytest

from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.api.chat.conftest import parse_events

pytestmark = pytest.mark.asyncio(loop_scope="session")

STREAM = {"Accept": "text/event-stream"}


async def _headers(services: Services, name: str) -> dict[str, str]:
    user = await services.users.create_user(name)
    return {"Authorization": f"Bearer {(await services.users.create_key(user.id)).secret}"}


async def _follow(client: httpx.AsyncClient, task_id: str, headers: dict) -> list:
    response = await client.get(f"/api/tasks/{task_id}/events", headers=headers)
    assert response.status_code == 200, response.text
    return parse_events(response.text)


async def test_a_task_streams_its_steps_and_its_files_can_be_downloaded(
    client: httpx.AsyncClient, services: Services, fake: FakeLLMServer
) -> None:
    alice = await _headers(services, "alice")
    fake.add_turns(
        Turn(tool_calls=[("write_file", {"path": "app/main.py", "content": "print(6 * 7)\n"})]),
        Turn(tool_calls=[("bash", {"command": "python app/main.py"})]),
        Turn(text="app/main.py prints 42."),
    )

    response = await client.post(
        "/api/tasks", json={"prompt": "Print 42", "max_steps": 5}, headers={**alice, **STREAM}
    )

    assert response.status_code == 200, response.text
    events = parse_events(response.text)
    names = [name for name, _ in events]
    assert names[0] == "task_start"
    assert "tool_call" in names
    assert "stdout" in names
    name, end = events[-1]
    assert name == "task_end"
    assert end["status"] == "complete"
    assert end["summary"] == "app/main.py prints 42."
    assert [file["path"] for file in end["files"]] == ["app/main.py"]
    task_id = end["task_id"]

    detail = (await client.get(f"/api/tasks/{task_id}", headers=alice)).json()
    assert detail["status"] == "complete"
    assert detail["max_steps"] == 5
    assert detail["files"][0]["sha256"] == end["files"][0]["sha256"]
    assert [step["kind"] for step in detail["steps"]][-1] == "task_end"
    listed = (await client.get("/api/tasks", headers=alice)).json()
    assert [task["id"] for task in listed] == [task_id]

    one = await client.get(f"/api/tasks/{task_id}/files/app/main.py", headers=alice)
    assert one.status_code == 200
    assert one.content == b"print(6 * 7)\n"
    assert 'filename="main.py"' in one.headers["content-disposition"]
    archive = await client.get(f"/api/tasks/{task_id}/result.zip", headers=alice)
    assert archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert opened.read("app/main.py") == b"print(6 * 7)\n"

    replayed = await _follow(client, task_id, alice)
    assert [n for n, _ in replayed] == [step["kind"] for step in detail["steps"]]

    bob = await _headers(services, "bob")
    for path in ("", "/events", "/files/app/main.py", "/result.zip"):
        hidden = await client.get(f"/api/tasks/{task_id}{path}", headers=bob)
        assert hidden.status_code == 404
        assert hidden.json()["error"]["code"] == "not_found"


async def test_a_multipart_task_gets_its_input_files_and_a_diff_of_what_changed(
    client: httpx.AsyncClient, services: Services, fake: FakeLLMServer
) -> None:
    alice = await _headers(services, "alice")
    fake.add_turns(
        Turn(tool_calls=[("edit_file", {"path": "notes.md", "old": "TODO", "new": "Done"})]),
        Turn(text="Marked it done."),
    )

    response = await client.post(
        "/api/tasks",
        data={"prompt": "Mark the note done", "timeout": "60"},
        files=[("files", ("notes.md", b"# Notes\nTODO\n", "text/markdown"))],
        headers=alice,
    )

    assert response.status_code == 202, response.text
    task_id = response.json()["id"]
    assert response.json()["status"] == "running"
    events = await _follow(client, task_id, alice)
    assert events[-1][0] == "task_end"
    (changed,) = (await client.get(f"/api/tasks/{task_id}", headers=alice)).json()["files"]
    assert changed["change"] == "modified"
    assert "-TODO\n+Done\n" in changed["diff"]


async def test_a_task_done_before_its_answer_is_written_is_answered_as_accepted(
    client: httpx.AsyncClient,
    services: Services,
    fake: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On a busy machine a quick task can finish before the 202 is written; the answer is the
    # task as accepted all the same (it once re-read the task and said "complete").
    alice = await _headers(services, "alice")
    fake.add_turns(Turn(text="Nothing to do."))
    start = services.tasks.start

    async def start_and_finish(*args, **kwargs):
        run = await start(*args, **kwargs)
        await run.wait()
        return run

    monkeypatch.setattr(services.tasks, "start", start_and_finish)
    response = await client.post("/api/tasks", json={"prompt": "Nothing"}, headers=alice)

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "running"
    task = (await client.get(f"/api/tasks/{response.json()['id']}", headers=alice)).json()
    assert task["status"] == "complete"


async def test_a_command_waits_for_the_owners_answer_in_confirm_mode(
    client: httpx.AsyncClient, services: Services, fake: FakeLLMServer
) -> None:
    alice = await _headers(services, "alice")
    bob = await _headers(services, "bob")
    fake.add_turns(
        Turn(tool_calls=[("bash", {"command": "touch should-not-exist"})]),
        Turn(text="The command was refused; nothing was done."),
    )
    response = await client.post(
        "/api/tasks", json={"prompt": "Touch it", "permission": "confirm"}, headers=alice
    )
    task_id = response.json()["id"]

    confirmation = await _waiting_confirmation(client, task_id, alice)
    path = f"/api/tasks/{task_id}/confirmations/{confirmation['confirmation_id']}"
    assert (await client.post(path, json={"allow": False}, headers=bob)).status_code == 404
    refused = await client.post(path, json={"allow": False, "reason": "no"}, headers=alice)
    assert refused.status_code == 204
    events = await _follow(client, task_id, alice)

    names = [name for name, _ in events]
    assert names.index("confirm") < names.index("confirm_answer")
    (result,) = [data for name, data in events if name == "tool_result"]
    assert not result["success"]
    assert "CommandRefused" in result["observation"]
    assert (await client.get(f"/api/tasks/{task_id}", headers=alice)).json()["files"] == []


async def _waiting_confirmation(client: httpx.AsyncClient, task_id: str, headers: dict) -> dict:
    """The `confirm` step of the task's log, once it is there (stored before it is sent)."""
    while True:
        steps = (await client.get(f"/api/tasks/{task_id}", headers=headers)).json()["steps"]
        asked = [step["data"] for step in steps if step["kind"] == "confirm"]
        if asked:
            return asked[0]
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("request_kwargs", "field"),
    [
        ({"json": {"prompt": ""}}, None),
        ({"json": {"prompt": "x", "surprise": 1}}, None),
        ({"json": {"prompt": "x", "max_steps": 0}}, None),
        ({"json": {"prompt": "x", "template": "no-such-template"}}, "template"),
        ({"json": {"prompt": "x", "file_ids": ["not-mine"]}}, None),
        (
            {
                "data": {"prompt": "x"},
                "files": [("files", ("../../etc/passwd", b"x", "text/plain"))],
            },
            "files",
        ),
        ({"data": {"prompt": "x", "colour": "red"}}, None),
    ],
)
async def test_bad_task_requests_are_refused_clearly(
    client: httpx.AsyncClient, services: Services, request_kwargs: dict, field: str | None
) -> None:
    alice = await _headers(services, "alice")

    response = await client.post("/api/tasks", headers=alice, **request_kwargs)

    assert response.status_code in (404, 422), response.text
    error = response.json()["error"]
    assert error["message"]
    if field is not None:
        assert error["field"] == field
    assert (await client.get("/api/tasks", headers=alice)).json() == []
