"""Signing in with an API key through the form, and out again; what the user does while the
workspace is still loading."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect

from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.web.conftest import (
    WebApp,
    conversation_id_in_url,
    last_reply,
    new_analysis,
    open_app,
    reload,
    screenshot,
    send,
)


def test_signing_in_with_a_key_shows_the_empty_workspace_and_signing_out_forgets_it(
    page: Page, web: WebApp
) -> None:
    dana = web.add_user("dana")  # nothing of hers yet: the empty state
    open_app(page)
    expect(page.get_by_test_id("sign-out")).to_be_hidden()

    page.get_by_test_id("key-input").fill(dana.key)
    page.get_by_test_id("sign-in").click()

    expect(page.get_by_test_id("sign-out")).to_be_visible()
    expect(page.get_by_test_id("new-analysis")).to_be_visible()
    expect(page.get_by_test_id("composer")).to_be_visible()
    expect(page.get_by_test_id("assistant-list")).to_contain_text("dana's analyst")
    expect(page.get_by_test_id("key-input")).to_be_hidden()
    screenshot(page, "signed-in-empty")

    reload(page)  # the key is remembered in this browser
    expect(page.get_by_test_id("sign-out")).to_be_visible()

    page.get_by_test_id("sign-out").click()

    expect(page.get_by_test_id("key-input")).to_be_visible()
    reload(page)
    expect(page.get_by_test_id("key-input")).to_be_visible()
    expect(page.get_by_test_id("conversation-item")).to_have_count(0)


def is_the_assistant_list(url: str) -> bool:
    return urlsplit(url).path == "/api/assistants"


def test_a_question_sent_before_the_assistants_have_loaded_goes_to_the_users_own_assistant(
    page: Page, web: WebApp, model: FakeLLMServer
) -> None:
    omar = web.add_user("omar")
    held: list[Route] = []

    def hold_the_assistant_list(route: Route) -> None:
        if route.request.method == "GET":
            held.append(route)
        else:
            route.continue_()

    page.route(is_the_assistant_list, hold_the_assistant_list)
    open_app(page)
    page.get_by_test_id("key-input").fill(omar.key)
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_test_id("sign-out")).to_be_visible()
    new_analysis(page)
    model.add_turns(Turn(text="Hello, Omar."))

    send(page, "Hello?")
    # The sidebar's request is handed to us as Playwright dispatches it: wait until it has been.
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the sidebar asks for the assistants"
    for route in held:
        route.continue_()
    page.unroute(is_the_assistant_list)

    expect(last_reply(page)).to_contain_text("Hello, Omar.")
    conversation = web.api(omar, "GET", f"/api/conversations/{conversation_id_in_url(page)}")
    assert conversation.json()["assistant_id"] == omar.assistant_id
    me = web.api(omar, "GET", "/api/me").json()
    listed = web.api(omar, "GET", "/api/assistants").json()
    own = [assistant["id"] for assistant in listed if assistant["owner_id"] == me["id"]]
    assert own == [omar.assistant_id], "no default assistant was made for omar"
