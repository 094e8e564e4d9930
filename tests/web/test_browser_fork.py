"""The chat header's Fork button copies the open conversation with its sandbox state and
opens the copy: the fork says how its cells were replayed, has the original's file and
variables, and diverges from it; a new analysis has no button."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.web.conftest import (
    conversation_id_in_url,
    last_reply,
    new_analysis,
    screenshot,
    send,
    upload,
)

SALES_CSV = b"month,sales\nJan,10\nFeb,14\nMar,9\n"
SETUP = (
    "import pandas as pd\ndf = pd.read_csv('sales.csv')\nx = int(df.sales.sum())\nprint('x is', x)"
)


def run(page: Page, model: FakeLLMServer, question: str, code: str, answer: str) -> None:
    model.add_turns(Turn(tool_calls=[("execute_code", {"code": code})]), Turn(text=answer))
    send(page, question)
    reply = last_reply(page)
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply).to_contain_text(answer)


def test_the_fork_button_opens_a_copy_with_the_files_and_variables(
    alice_page: Page, model: FakeLLMServer
) -> None:
    page = alice_page
    new_analysis(page)
    expect(page.get_by_test_id("fork-conversation")).to_be_hidden()
    expect(upload(page, "sales.csv", SALES_CSV)).to_be_visible()
    run(page, model, "Add up sales", SETUP, "The total is 33.")
    original = conversation_id_in_url(page)

    page.get_by_test_id("fork-conversation").click()

    page.wait_for_url(lambda url: "/#/c/" in url and not url.endswith(original))
    notice = page.get_by_test_id("fork-notice")
    expect(notice).to_contain_text("1 cell replayed in a fresh sandbox, 0 failed")
    expect(page.locator(".chat-title")).to_contain_text("(fork)")
    expect(last_reply(page)).to_contain_text("The total is 33.")  # the history came along
    expect(page.get_by_test_id("file-chip").filter(has_text="sales.csv")).to_be_visible()
    fork = conversation_id_in_url(page)
    assert fork != original
    screenshot(page, "forked-conversation")

    run(page, model, "Use x", "x = x + 1\nprint('now', x, len(df))", "x is now 34.")
    step = last_reply(page).get_by_test_id("code-step").first
    expect(step.get_by_test_id("step-output").first).to_contain_text("now 34 3")

    # The original kept its own x.
    page.goto(page.url.replace(fork, original))
    run(page, model, "And here?", "print('here', x)", "Still 33.")
    step = last_reply(page).get_by_test_id("code-step").first
    expect(step.get_by_test_id("step-output").first).to_contain_text("here 33")
