"""Stopping a turn whose code runs for a long time, with the Stop button or with Escape: the
answer is marked cancelled, the button goes away, and the next question is answered by code
running in the same sandbox (so the long cell was really interrupted)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.web.conftest import last_reply, messages, new_analysis, send

LONG_CELL = "import time\ntime.sleep(60)"


def click_stop(page: Page) -> None:
    page.get_by_test_id("stop").click()


def press_escape(page: Page) -> None:
    page.keyboard.press("Escape")


@pytest.mark.parametrize("stop", [click_stop, press_escape], ids=["stop-button", "escape"])
def test_stopping_cancels_the_running_code_and_the_next_question_works(
    alice_page: Page, model: FakeLLMServer, stop: Callable[[Page], None]
) -> None:
    page = alice_page
    new_analysis(page)
    model.add_turns(
        Turn(text="This will take a while.", tool_calls=[("execute_code", {"code": LONG_CELL})]),
        Turn(tool_calls=[("execute_code", {"code": "print('ready', 6 * 7)"})]),
        Turn(text="Still here, and the sandbox answers."),
    )

    send(page, "Run the slow analysis")
    reply = last_reply(page)
    expect(reply.get_by_test_id("code-step")).to_have_attribute("data-state", "running")
    expect(page.get_by_test_id("stop")).to_be_visible()

    stop(page)

    expect(reply).to_have_attribute("data-status", "cancelled")
    expect(reply.get_by_test_id("code-step")).not_to_have_attribute("data-state", "running")
    expect(page.get_by_test_id("stop")).to_be_hidden()

    send(page, "Are you still there?")

    expect(messages(page, "assistant")).to_have_count(2)
    expect(last_reply(page)).to_have_attribute("data-status", "complete")
    expect(last_reply(page).get_by_test_id("step-output")).to_contain_text("ready 42")
    expect(last_reply(page)).to_contain_text("Still here, and the sandbox answers.")
