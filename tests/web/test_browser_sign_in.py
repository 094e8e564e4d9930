"""Signing in with an API key through the form, and out again."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.web.conftest import WebApp, open_app, reload, screenshot


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
