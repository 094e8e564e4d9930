"""The agent calling an admin's MCP server in a real chat (the test server of
tests/fixtures/mcp_tool_server.py as a real stdio process): the model is offered the tools
its assistant allows, under their own names and input schemas; a text result is the
observation, an image becomes an artifact, an error result and a timeout are reported to the
model and the turn goes on; a tool the assistant was not allowed is neither offered nor run;
every call is in the log."""

from __future__ import annotations

import httpx
import pytest

from sandbox_analyst.agent.team import CODE_AGENT, PLANNER
from sandbox_analyst.config import Settings
from sandbox_analyst.service import Principal, Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.agent.team.conftest import handoff, tool
from tests.agent.team.test_team import tool_names
from tests.api.chat.conftest import make_chatter
from tests.fixtures.mcp_servers import stdio_spec

pytestmark = pytest.mark.asyncio(loop_scope="session")

ALLOWED = ["rates/lookup_rate", "rates/draw_square", "rates/fail", "rates/sleep"]


@pytest.fixture
def app_settings(app_settings: Settings) -> Settings:
    app_settings.mcp_client.call_timeout_s = 2.0
    return app_settings


async def register_rates(services: Services) -> Principal:
    admin = await services.users.create_user("root", admin=True)
    root = Principal(admin.id, admin.name, is_admin=True)
    await services.mcp_servers.create(root, stdio_spec(description="exchange rates"))
    return root


def observations(fake: FakeLLMServer) -> list[str]:
    return [last_tool_result(request.json or {}) or "" for request in fake.model_requests]


async def test_the_agent_calls_the_allowed_mcp_tools_and_sees_their_results(
    fake: FakeLLMServer, services: Services, client: httpx.AsyncClient
) -> None:
    root = await register_rates(services)
    alice = await make_chatter(services, client, "alice", assistant={"mcp_tools": ALLOWED})
    fake.add_turns(
        Turn(tool_calls=[("mcp__rates__lookup_rate", {"currency": "eur"})]),
        Turn(tool_calls=[("mcp__rates__draw_square", {})]),
        Turn(tool_calls=[("mcp__rates__fail", {})]),
        Turn(tool_calls=[("mcp__rates__sleep", {"seconds": 30})]),
        Turn(tool_calls=[("mcp__rates__show_env", {"name": "PYTHONPATH"})]),
        Turn(text="1 EUR is 1.0842 USD."),
    )

    reply = await alice.ask("What is the euro worth?")

    assert reply.end["status"] == "complete"
    assert [r["success"] for r in reply.of("tool_result")] == [True, True, False, False, False]
    rate, square, failed, slept, forged = observations(fake)[1:6]
    assert "1 EUR = 1.0842 USD" in rate
    artifact = reply.of("artifact")[0]
    assert artifact["media_type"] == "image/png"
    assert artifact["url"] in square
    download = await client.get(artifact["url"], headers=alice.headers)
    assert download.content.startswith(b"\x89PNG")
    assert "McpToolError: Error executing tool fail: the rates backend is down" in failed
    assert "McpTimeout: the MCP server 'rates' did not answer sleep in 2 s" in slept
    assert "UnknownTool: no tool 'mcp__rates__show_env'" in forged
    assert reply.text == "1 EUR is 1.0842 USD."
    offered = {t["function"]["name"]: t["function"] for t in fake.model_requests[0].json["tools"]}
    assert "mcp__rates__show_env" not in offered
    assert {"execute_code", "mcp__rates__lookup_rate", "mcp__rates__sleep"} <= set(offered)
    lookup = offered["mcp__rates__lookup_rate"]
    assert lookup["parameters"]["properties"]["currency"]["type"] == "string"
    assert lookup["parameters"]["required"] == ["currency"]
    assert "exchange rate of a currency" in lookup["description"]
    log = await services.mcp_servers.calls(root)
    assert [(entry.tool, entry.outcome) for entry in reversed(log)] == [
        ("lookup_rate", "ok"),
        ("draw_square", "ok"),
        ("fail", "error"),
        ("sleep", "timeout"),
    ]
    assert {entry.conversation_id for entry in log} == {alice.conversation_id}
    assert {entry.assistant_id for entry in log} == {alice.assistant_id}


async def test_an_assistant_without_mcp_tools_is_offered_none(
    fake: FakeLLMServer, services: Services, client: httpx.AsyncClient
) -> None:
    await register_rates(services)
    alice = await make_chatter(services, client, "alice")
    fake.add_turns(
        Turn(tool_calls=[("mcp__rates__lookup_rate", {"currency": "eur"})]), Turn(text="-")
    )

    reply = await alice.ask("What is the euro worth?")

    assert [r["success"] for r in reply.of("tool_result")] == [False]
    offered = [t["function"]["name"] for t in fake.model_requests[0].json["tools"]]
    assert not [name for name in offered if name.startswith("mcp__")]
    assert await services.mcp_servers.calls(Principal("x", "x", is_admin=True)) == []


async def test_an_unknown_mcp_tool_in_an_assistant_is_a_clear_422(
    services: Services, client: httpx.AsyncClient
) -> None:
    await register_rates(services)
    user = await services.users.create_user("carol")
    headers = {"Authorization": f"Bearer {(await services.users.create_key(user.id)).secret}"}

    unknown = await client.post(
        "/api/assistants", json={"name": "a", "mcp_tools": ["rates/convert"]}, headers=headers
    )
    malformed = await client.post(
        "/api/assistants", json={"name": "b", "mcp_tools": ["rates"]}, headers=headers
    )

    assert unknown.status_code == 422
    assert "the MCP server 'rates' has no tool 'convert'" in unknown.text
    assert malformed.status_code == 422
    assert "is not server/tool or server/*" in malformed.text


async def test_in_a_team_the_code_agent_is_offered_the_mcp_tools(
    fake: FakeLLMServer, services: Services, client: httpx.AsyncClient
) -> None:
    await register_rates(services)
    bob = await make_chatter(
        services, client, "bob", assistant={"mode": "team", "mcp_tools": ["rates/*"]}
    )
    fake.add_turns(
        handoff(CODE_AGENT, "look the rate up"),
        tool("mcp__rates__lookup_rate", currency="gbp"),
        handoff(PLANNER, "1 GBP = 1.2710 USD"),
        Turn(text="1 GBP is 1.2710 USD.\nTERMINATE"),
    )

    reply = await bob.ask("What is the pound worth?")

    assert reply.end["status"] == "complete"
    (result,) = [r for r in reply.of("tool_result") if r["tool"].startswith("mcp__")]
    assert result["success"] is True
    assert result["agent"] == "CodeAgent"
    planner, coder = (tool_names(fake.model_requests[i].json) for i in (0, 1))
    assert not [name for name in planner if name.startswith("mcp__")]
    assert {"mcp__rates__lookup_rate", "mcp__rates__show_env"} <= set(coder)
