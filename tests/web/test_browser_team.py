"""A team-mode assistant in the browser: each role's part under its badge, a compact line per
handoff (no handoff steps), TERMINATE never shown, the same after a reload; the assistant
editor shows the team's roles."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.web.conftest import (
    WebApp,
    last_reply,
    new_analysis,
    open_app,
    reload,
    screenshot,
    send,
    sign_in,
)


def team_turns() -> list[Turn]:
    return [
        Turn(
            text="Let the coder compute it.",
            tool_calls=[("transfer_to_CodeAgent", {"reason": "multiply 6 by 7"})],
        ),
        Turn(tool_calls=[("execute_code", {"code": "print(6 * 7)"})]),
        Turn(tool_calls=[("transfer_to_Planner", {"reason": "printed 42"})]),
        Turn(text="Six times seven is **42**.\nTERMINATE"),
    ]


def expect_team_reply(page: Page) -> None:
    reply = last_reply(page)
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.get_by_test_id("role-badge")).to_have_text(["Planner", "CodeAgent", "Planner"])
    handoffs = reply.get_by_test_id("handoff")
    expect(handoffs).to_have_count(2)
    expect(handoffs.first).to_contain_text("Planner → CodeAgent")
    expect(handoffs.first).to_contain_text("multiply 6 by 7")
    expect(handoffs.last).to_contain_text("CodeAgent → Planner")
    expect(reply.get_by_test_id("code-step")).to_have_count(1)
    expect(reply.get_by_test_id("step-output").first).to_contain_text("42")
    expect(reply).to_contain_text("Six times seven is 42.")
    expect(reply).not_to_contain_text("TERMINATE")


def test_a_team_answer_shows_who_speaks_and_each_handoff(
    page: Page, web: WebApp, model: FakeLLMServer
) -> None:
    tess = web.add_user("tess")
    switched = web.api(tess, "PATCH", f"/api/assistants/{tess.assistant_id}", json={"mode": "team"})
    assert switched.status_code == 200, switched.text
    sign_in(page, tess)
    new_analysis(page)
    model.add_turns(*team_turns())

    send(page, "Six times seven?")

    expect_team_reply(page)
    screenshot(page, "team-answer")
    reload(page)
    expect_team_reply(page)

    open_app(page, f"/#/assistants/{tess.assistant_id}")
    expect(page.get_by_test_id("assistant-mode")).to_have_value("team")
    roles = page.get_by_test_id("team-role")
    expect(roles).to_have_count(3)
    expect(roles.first.locator('[name="role-name"]')).to_have_value("Planner")
    expect(roles.nth(1).locator('[name="role-tools"]')).to_have_value(
        "execute_code, install_package, list_files, read_file, write_file, generate_chart, "
        "list_tables, describe_table, query_database, mcp_tools"
    )
    screenshot(page, "team-editor")
