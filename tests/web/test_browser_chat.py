"""A conversation in the browser: upload a CSV, ask, watch the answer stream and the code
run, see the chart and the table, download what the code wrote; the keyboard; a model that
fails and a retry; a reload that brings it all back; a phone-sized screen."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import update

from sandbox_analyst.service import Services
from sandbox_analyst.service.runners import INTERRUPTED_ERROR
from sandbox_analyst.store import Message
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.web.conftest import (
    PHONE,
    Browsing,
    WebApp,
    WebUser,
    conversation_id_in_url,
    expect_image_loaded,
    last_reply,
    messages,
    new_analysis,
    reload,
    screenshot,
    send,
    sign_in,
    upload,
)

SALES_CSV = b"month,sales\nJan,10\nFeb,14\nMar,9\n"
# The pause keeps the step running long enough for the page to be seen showing it.
ANALYSIS = """\
import time
import pandas as pd
import matplotlib.pyplot as plt
df = pd.read_csv('sales.csv')
time.sleep(2)
print('total', df.sales.sum())
with open('summary.csv', 'w') as summary:
    summary.write(f'total,{df.sales.sum()}\\n')
df.plot.bar(x='month', y='sales')
plt.show()
df"""
# Streamed a word at a time: a test can tell the first words from the whole sentence.
STREAMED_TEXT = (
    "I will load sales.csv, add up the monthly totals and draw them as a bar chart, "
    "so that the strongest month stands out clearly."
)
TALL = {"width": 1280, "height": 1280}


def analysis_turns(*, streamed: bool) -> list[Turn]:
    return [
        Turn(
            text=STREAMED_TEXT if streamed else "Let me look at the data.",
            tool_calls=[("execute_code", {"code": ANALYSIS})],
            chunk_delay=0.08 if streamed else 0.0,
        ),
        Turn(text="Sales peaked in **February**; the total is 33."),
    ]


def test_an_answer_streams_its_text_runs_its_code_and_shows_a_chart_table_and_file(
    alice_page: Page, model: FakeLLMServer
) -> None:
    page = alice_page
    new_analysis(page)
    expect(upload(page, "sales.csv", SALES_CSV)).to_be_visible()
    model.add_turns(*analysis_turns(streamed=True))

    send(page, "Plot sales by month")

    reply = last_reply(page)
    text = reply.get_by_test_id("message-text").first
    # Part of the text is on screen while the rest is still coming.
    page.wait_for_function(
        """el => el.closest('[data-testid="message"]').dataset.status === 'streaming'
                 && el.innerText.includes('sales.csv') && !el.innerText.includes('clearly')""",
        arg=text.element_handle(),
    )
    page.wait_for_function(
        """el => el.closest('[data-testid="message"]').dataset.status === 'streaming'
                 && el.innerText.includes('bar chart')""",
        arg=text.element_handle(),
    )
    step = reply.get_by_test_id("code-step").first
    expect(step).to_have_attribute("data-state", "running")
    expect(step.get_by_test_id("code-source")).to_contain_text("read_csv('sales.csv')")
    screenshot(page, "streaming-code-step")

    expect(reply).to_have_attribute("data-status", "complete")
    expect(step).to_have_attribute("data-state", "done")
    expect(step.get_by_test_id("step-output").first).to_contain_text("total 33")
    expect_image_loaded(reply.get_by_test_id("chart").first)
    expect(reply.get_by_test_id("html-result").first.locator("table")).to_contain_text("Feb")
    expect(reply).to_contain_text("Sales peaked in February")
    expect(reply.locator("strong")).to_have_text("February")  # markdown rendered
    page.set_viewport_size(TALL)  # the whole answer in one picture
    messages(page, "user").last.scroll_into_view_if_needed()
    screenshot(page, "answer-with-chart-and-table")

    artifact = reply.get_by_test_id("artifact").filter(has_text="summary.csv")
    with page.expect_download() as download:
        artifact.click()
    assert Path(download.value.path()).read_bytes() == b"total,33\n"


def test_enter_sends_and_shift_enter_starts_a_new_line(
    alice_page: Page, model: FakeLLMServer
) -> None:
    page = alice_page
    new_analysis(page)
    model.add_turns(Turn(text="Two lines received."))
    composer = page.get_by_test_id("composer")

    composer.click()
    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")

    expect(composer).to_have_value("first line\nsecond line")
    expect(messages(page, "user")).to_have_count(0)

    page.keyboard.press("Enter")

    expect(messages(page, "user")).to_have_count(1)
    expect(messages(page, "user").first).to_contain_text("second line")
    expect(last_reply(page)).to_contain_text("Two lines received.")
    expect(composer).to_have_value("")
    sent = model.model_requests[-1].json or {}
    assert sent["messages"][-1] == {"role": "user", "content": "first line\nsecond line"}


def test_a_failing_model_shows_the_error_and_retry_runs_the_turn_again(
    alice_page: Page, model: FakeLLMServer
) -> None:
    page = alice_page
    new_analysis(page)
    # More failures than the server retries: the turn fails; the next attempt is answered.
    model.add_turns(Turn(text="Answered after all.", error_status=500, error_times=4))

    send(page, "What is the median?")

    error = page.get_by_test_id("turn-error")
    expect(error).to_be_visible()
    expect(last_reply(page)).to_have_attribute("data-status", "failed")

    page.get_by_test_id("retry").click()

    expect(last_reply(page)).to_contain_text("Answered after all.")
    expect(last_reply(page)).to_have_attribute("data-status", "complete")
    expect(last_reply(page).get_by_test_id("turn-error")).to_have_count(0)


def test_a_reload_brings_back_the_conversation_with_its_code_outputs_and_charts(
    alice_page: Page, model: FakeLLMServer
) -> None:
    page = alice_page
    new_analysis(page)
    expect(upload(page, "sales.csv", SALES_CSV)).to_be_visible()
    model.add_turns(*analysis_turns(streamed=False))
    send(page, "Plot sales by month")
    expect(last_reply(page)).to_have_attribute("data-status", "complete")
    conversation_id = conversation_id_in_url(page)

    reload(page)

    assert page.url.endswith(f"/#/c/{conversation_id}")
    expect(messages(page, "user")).to_have_text(["Plot sales by month"])
    reply = last_reply(page)
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply).to_contain_text("Sales peaked in February")
    step = reply.get_by_test_id("code-step")
    expect(step).to_have_count(1)
    expect(step).to_have_attribute("data-state", "done")
    expect(step.get_by_test_id("code-source")).to_contain_text("df.plot.bar")
    expect(step.get_by_test_id("step-output").first).to_contain_text("total 33")
    expect(reply.get_by_test_id("artifact").filter(has_text="summary.csv")).to_be_visible()
    expect_image_loaded(reply.get_by_test_id("chart").first)


def test_on_a_phone_the_composer_and_the_messages_fit_the_screen(
    browsing: Browsing, alice: WebUser, model: FakeLLMServer
) -> None:
    page = browsing.new_page(viewport=PHONE)
    sign_in(page, alice)  # straight into an empty analysis: the sidebar is folded away
    model.add_turns(Turn(text="Small screens work too: " + "a fairly long sentence " * 12))

    send(page, "Does this fit on a phone?")

    reply = last_reply(page)
    expect(reply).to_have_attribute("data-status", "complete")
    for element in (page.get_by_test_id("composer"), page.get_by_test_id("send"), reply):
        expect(element).to_be_in_viewport()
        box = element.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
    # Nothing makes the page scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "phone")


def test_a_turn_cut_off_by_a_server_stop_reads_interrupted_and_retry_asks_again(
    page: Page, web: WebApp, alice: WebUser, model: FakeLLMServer
) -> None:
    conversation_id = web.create_conversation(alice, "Cut off")

    async def store_interrupted_turn() -> None:
        # What a server killed mid-turn leaves, once the next start has marked it.
        async with Services.running(web.settings) as services:
            await services.conversations.append_message(conversation_id, "user", "Long job")
            await services.conversations.append_message(
                conversation_id, "assistant", "Starting the long job.", status="interrupted"
            )
            async with services.db.session() as session:
                await session.execute(
                    update(Message)
                    .where(Message.conversation_id == conversation_id, Message.role == "assistant")
                    .values(error=INTERRUPTED_ERROR)
                )

    with ThreadPoolExecutor(max_workers=1) as thread:  # Playwright owns this thread's loop
        thread.submit(asyncio.run, store_interrupted_turn()).result()

    sign_in(page, alice, f"/#/c/{conversation_id}")

    reply = last_reply(page)
    expect(reply).to_have_attribute("data-status", "interrupted")
    expect(reply).to_contain_text("Starting the long job.")
    expect(reply.get_by_test_id("turn-error")).to_contain_text("server stopped during the answer")
    screenshot(page, "chat-interrupted-turn")

    model.add_turns(Turn(text="Done this time."))
    reply.get_by_test_id("retry").click()

    expect(last_reply(page)).to_contain_text("Done this time.")
    expect(last_reply(page)).to_have_attribute("data-status", "complete")
    sent = model.model_requests[-1].json or {}
    assert sent["messages"][-1] == {"role": "user", "content": "Long job"}


def test_an_sql_step_shows_its_query_highlighted_as_sql_and_its_table(
    alice_page: Page, model: FakeLLMServer
) -> None:
    page = alice_page
    new_analysis(page)
    expect(upload(page, "sales.csv", SALES_CSV)).to_be_visible()
    query = "SELECT month, sales FROM 'sales.csv' ORDER BY sales DESC"
    model.add_turns(
        Turn(tool_calls=[("execute_code", {"code": query, "language": "sql"})]),
        Turn(text="February sold most."),
    )

    send(page, "Which month sold most? Use SQL.")

    reply = last_reply(page)
    expect(reply).to_have_attribute("data-status", "complete")
    source = reply.get_by_test_id("code-step").first.get_by_test_id("code-source")
    expect(source).to_contain_text("%%sql")
    expect(source).to_have_class("hljs language-sql")
    expect(reply.get_by_test_id("html-result").first.locator("table")).to_contain_text("Feb")
