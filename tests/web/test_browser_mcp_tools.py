"""The assistant editor's choice of MCP tools: the tools of the servers an admin registered,
each one or every tool of a server, ticked and saved as the assistant's `mcp_tools`, shown
again after a reload."""

from __future__ import annotations

import sys

from playwright.sync_api import Page, expect

from tests.fixtures.mcp_servers import ROOT
from tests.web.conftest import WebApp, open_app, reload, sign_in


def test_the_editor_saves_which_mcp_tools_an_assistant_may_call(page: Page, web: WebApp) -> None:
    root = web.add_user("root", admin=True)
    rates = {
        "name": "rates",
        "description": "exchange rates",
        "command": sys.executable,
        "args": ["-m", "tests.fixtures.mcp_tool_server"],
        "env": {"PYTHONPATH": str(ROOT)},
    }
    response = web.api(root, "POST", "/api/admin/mcp-servers", json=rates)
    assert response.status_code == 201, response.text
    mia = web.add_user("mia")
    sign_in(page, mia)
    open_app(page, f"/#/assistants/{mia.assistant_id}")
    picker = page.get_by_test_id("assistant-mcp-tools")
    expect(picker).to_contain_text("rates: every tool (exchange rates)")
    expect(picker.locator('input[type="checkbox"]')).to_have_count(6)  # every + 5 tools

    picker.locator('input[value="rates/lookup_rate"]').check()
    page.get_by_test_id("assistant-save").click()

    expect(page.get_by_text("Saved")).to_be_visible()
    saved = web.api(mia, "GET", f"/api/assistants/{mia.assistant_id}").json()
    assert saved["mcp_tools"] == ["rates/lookup_rate"]
    reload(page)
    expect(picker.locator('input[value="rates/lookup_rate"]')).to_be_checked()
    expect(picker.locator('input[value="rates/*"]')).not_to_be_checked()
