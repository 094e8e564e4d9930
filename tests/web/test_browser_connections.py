"""The assistant editor's choice of databases: by default an assistant may query every
connection of the person chatting; unticking that offers the user's connections one by one,
and what is saved is the list ticked, shown again after a reload."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.web.conftest import WebApp, open_app, reload, screenshot, sign_in


def test_the_editor_saves_which_connections_an_assistant_may_query(page: Page, web: WebApp) -> None:
    gina = web.add_user("gina")
    ids = {}
    for name in ("crm", "warehouse"):  # nothing listens there: never reached by this test
        url = f"postgresql://reader:pw@127.0.0.1:1/{name}"
        response = web.api(gina, "POST", "/api/connections", json={"name": name, "url": url})
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    sign_in(page, gina)
    open_app(page, f"/#/assistants/{gina.assistant_id}")
    every = page.get_by_test_id("assistant-connections-all")
    boxes = page.get_by_test_id("assistant-connections").locator('input[type="checkbox"]')
    expect(boxes).to_have_count(2)
    expect(every).to_be_checked()
    expect(boxes.first).to_be_disabled()
    expect(page.get_by_test_id("assistant-connections")).to_contain_text("crm (postgresql)")

    every.uncheck()
    expect(boxes.first).to_be_enabled()
    page.get_by_test_id("assistant-connections").get_by_text("warehouse").click()
    page.get_by_test_id("assistant-save").click()

    expect(page.get_by_text("Saved")).to_be_visible()
    saved = web.api(gina, "GET", f"/api/assistants/{gina.assistant_id}").json()
    assert saved["connections"] == [ids["warehouse"]]
    screenshot(page, "assistant-connections")
    reload(page)
    expect(every).not_to_be_checked()
    expect(boxes.nth(1)).to_be_checked()
    expect(boxes.first).not_to_be_checked()

    every.check()
    page.get_by_test_id("assistant-save").click()
    expect(page.get_by_text("Saved")).to_be_visible()
    assert (
        web.api(gina, "GET", f"/api/assistants/{gina.assistant_id}").json()["connections"] is None
    )
