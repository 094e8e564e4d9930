"""The Tasks view: start a task with an input file and the confirm mode, allow the command it
asks about, follow its steps, read its summary and the diff of the changed input, download a
file; another user's task is not found."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.web.conftest import WebApp, WebUser, open_app, screenshot

SUMMARY = "Fixed the greeting in hello.py; it prints hello, world."


def test_a_task_asks_before_its_command_then_shows_its_result(
    alice_page: Page,
    model: FakeLLMServer,
    web: WebApp,
    tmp_path: Path,
) -> None:
    page = alice_page
    model.add_turns(
        Turn(tool_calls=[("edit_file", {"path": "hello.py", "old": "helo", "new": "hello"})]),
        Turn(tool_calls=[("bash", {"command": "python hello.py"})]),
        Turn(text=SUMMARY),
    )
    source = tmp_path / "hello.py"
    source.write_text("print('helo, world')\n")

    page.get_by_test_id("open-tasks").click()
    page.get_by_test_id("task-prompt").fill("Fix the typo in hello.py and run it")
    page.get_by_test_id("task-files").set_input_files(str(source))
    page.get_by_test_id("task-confirm").check()
    page.get_by_test_id("task-start").click()

    expect(page.get_by_test_id("confirm-box")).to_contain_text("python hello.py")
    page.get_by_test_id("confirm-allow").click()

    expect(page.get_by_test_id("task-summary")).to_have_text(SUMMARY)
    expect(page.get_by_test_id("task-status")).to_have_text("complete")
    expect(page.get_by_test_id("task-steps")).to_contain_text("hello, world")
    expect(page.get_by_test_id("task-diff")).to_contain_text("+print('hello, world')")
    screenshot(page, "task-result")
    with page.expect_download() as download:
        page.get_by_test_id("task-file-download").click()
    saved = tmp_path / "downloaded.py"
    download.value.save_as(saved)
    assert saved.read_text() == "print('hello, world')\n"

    page.get_by_text("← Tasks").click()
    expect(page.get_by_test_id("task-item")).to_have_count(1)
    expect(page.get_by_test_id("task-item").get_by_test_id("task-status")).to_have_text("complete")


def test_another_users_task_is_not_found(
    alice_page: Page, web: WebApp, browsing, model: FakeLLMServer
) -> None:
    bob: WebUser = web.users["bob"]
    model.add_turns(Turn(text="Nothing to do."))
    response = web.api(bob, "POST", "/api/tasks", json={"prompt": "Say hi"})
    assert response.status_code == 202, response.text
    task_id = response.json()["id"]
    web.api(bob, "GET", f"/api/tasks/{task_id}/events")  # until it ends

    open_app(alice_page, f"/#/tasks/{task_id}")

    expect(alice_page.get_by_test_id("not-found")).to_contain_text("not yours")
