"""Hostile content is shown, never run: a model answer with HTML and javascript: links, a
file whose name and contents carry markup, HTML results of code; and one user cannot open
another's conversation by its URL. A bad key is refused at sign-in."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.web.conftest import (
    Browsing,
    WebApp,
    WebUser,
    last_reply,
    new_analysis,
    open_app,
    send,
    sign_in,
    upload,
)

HOSTILE_ANSWER = (
    "Here you go. <script>window.__pwned=1</script> "
    '<img src=x onerror="window.__pwned=1"> '
    "[open the report](javascript:window.__pwned=1) "
    '<a href="javascript:window.__pwned=1">raw link</a> '
    '<svg onload="window.__pwned=1"><circle r="5"/></svg>'
)
HOSTILE_NAME = "<img src=x onerror=window.__pwned=1>.csv"
HOSTILE_CSV = (
    b'label,note\n"<script>window.__pwned=1</script>","<img src=x onerror=""window.__pwned=1"">"\n'
)
HTML_RESULTS = f"""\
import pandas as pd
from IPython.display import HTML, display
df = pd.read_csv({HOSTILE_NAME!r})
display(df)
HTML('<b>bold</b><script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">')"""


def assert_nothing_ran(page: Page) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    # Not only blocked by the Content-Security-Policy: the markup never reaches the page.
    live_markup = page.locator(
        ":is([data-testid=message], [data-testid=file-chip], [data-testid=file-preview]) "
        ":is(script, object, embed, [onerror], [onload], [onclick], a[href^='javascript:' i])"
    )
    expect(live_markup).to_have_count(0)


def test_a_model_answer_with_scripts_and_javascript_links_runs_nothing(
    alice_page: Page, model: FakeLLMServer
) -> None:
    page = alice_page
    new_analysis(page)
    model.add_turns(Turn(text=HOSTILE_ANSWER))

    send(page, "Show me something dangerous")

    reply = last_reply(page)
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply).to_contain_text("Here you go.")
    reply.get_by_text("open the report").click()
    reply.get_by_text("raw link").click()
    assert_nothing_ran(page)
    expect(reply).to_be_visible()  # still on the page


def test_a_file_with_markup_in_its_name_and_contents_is_shown_as_text(
    alice_page: Page, model: FakeLLMServer
) -> None:
    page = alice_page
    new_analysis(page)
    chip = upload(page, HOSTILE_NAME, HOSTILE_CSV)
    expect(chip).to_be_visible()  # the name is text: the chip's text is the raw markup

    chip.click()
    preview = page.get_by_test_id("file-preview")
    expect(preview).to_contain_text("<script>window.__pwned=1</script>")
    assert_nothing_ran(page)

    model.add_turns(
        Turn(tool_calls=[("execute_code", {"code": HTML_RESULTS})]),
        Turn(text="Both tables are above."),
    )
    send(page, "Show the file")

    reply = last_reply(page)
    expect(reply).to_have_attribute("data-status", "complete")
    results = reply.get_by_test_id("html-result")
    expect(results.first.locator("table")).to_contain_text("<script>window.__pwned=1</script>")
    expect(results.last).to_contain_text("bold")
    assert_nothing_ran(page)


def test_another_user_cannot_open_a_private_conversation_by_its_url(
    browsing: Browsing, web: WebApp, alice: WebUser, bob: WebUser, model: FakeLLMServer
) -> None:
    conversation_id = web.create_conversation(alice, "Alice's acquisition plans")
    model.add_turns(Turn(text="The secret target is Initech."))
    web.ask(alice, conversation_id, "Which company do we buy?")

    page = browsing.new_page()
    sign_in(page, bob, path=f"/#/c/{conversation_id}")
    page.goto(f"/#/c/{conversation_id}")

    expect(page.get_by_test_id("not-found")).to_be_visible()
    body = page.locator("body")
    for secret in ("acquisition plans", "Initech", "Which company do we buy?"):
        expect(body).not_to_contain_text(secret)


def test_a_bad_key_is_refused_at_sign_in(page: Page) -> None:
    open_app(page)
    page.get_by_test_id("key-input").fill("sa_this-is-not-a-key")
    page.get_by_test_id("sign-in").click()

    expect(page.get_by_test_id("sign-in-error")).to_be_visible()
    expect(page.get_by_test_id("sign-out")).to_be_hidden()
    expect(page.get_by_test_id("key-input")).to_be_visible()
