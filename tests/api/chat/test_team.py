"""Team mode over REST: an assistant in `mode: "team"` answers with its roles, every streamed
event names its role, handoffs stream as `handoff` events, and the stored turn says who spoke
and why it stopped; a team that cannot run is refused when it is saved."""

from __future__ import annotations

import httpx
import pytest
import pytest_asyncio

from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.agent.team.test_team import GENERATE, SEED_TASK, seed_script
from tests.api.chat.conftest import Chatter, make_chatter, parse_events

pytestmark = pytest.mark.asyncio(loop_scope="session")

LONG_CELL = "import time\nprint('started', flush=True)\ntime.sleep(60)"


@pytest_asyncio.fixture(loop_scope="session")
async def bob(services: Services, client: httpx.AsyncClient) -> Chatter:
    return await make_chatter(services, client, "bob", assistant={"mode": "team"})


async def test_a_team_assistant_shows_its_default_roles(
    bob: Chatter, client: httpx.AsyncClient
) -> None:
    response = await client.get(f"/api/assistants/{bob.assistant_id}", headers=bob.headers)

    assistant = response.json()
    assert assistant["mode"] == "team"
    roles = assistant["team"]["roles"]
    assert [role["name"] for role in roles] == ["Planner", "CodeAgent", "AnalystAgent"]
    assert roles[0]["tools"] == []
    assert roles[0]["handoffs"] == ["CodeAgent", "AnalystAgent"]


async def test_the_seed_task_streams_every_step_with_its_role_and_is_stored_so(
    fake: FakeLLMServer, bob: Chatter
) -> None:
    fake.add_turns(*seed_script())

    reply = await bob.ask(SEED_TASK)

    assert all("agent" in data for _, data in reply.events), reply.events
    assert reply.events[0][1]["agent"] == "Planner"
    handoffs = [(h["from"], h["to"]) for h in reply.of("handoff")]
    assert handoffs == [
        ("Planner", "CodeAgent"),
        ("CodeAgent", "Planner"),
        ("Planner", "AnalystAgent"),
        ("AnalystAgent", "Planner"),
    ]
    assert reply.of("handoff")[0]["reason"] == "generate the points, statistics and outliers"
    assert {d["agent"] for d in reply.of("stdout")} == {"CodeAgent"}
    assert "TERMINATE" not in reply.text
    assert reply.end["status"] == "complete"
    assert reply.end["stop_reason"] == "terminate"
    assert reply.end["agent"] == "Planner"
    (stored,) = [m for m in await bob.messages() if m["role"] == "assistant"]
    assert stored["content"] == "The sample has two outliers (90 and 5), see the histogram."
    assert stored["agent"] == "Planner"
    assert stored["stop_reason"] == "terminate"
    code = next(call for call in stored["tool_calls"] if call["name"] == "execute_code")
    assert code["agent"] == "CodeAgent"
    assert code["code"] == GENERATE
    reading = next(r for r in stored["tool_results"] if r["name"] == "read_file")
    assert reading["agent"] == "AnalystAgent"
    # The analyst's words are kept with its handoff, so the turn can be shown again.
    back = [c for c in stored["tool_calls"] if c.get("agent") == "AnalystAgent"]
    assert any("point 10 = 90.0" in call["text"] for call in back)


async def test_a_team_turn_then_a_single_agent_turn_share_the_sandbox(
    fake: FakeLLMServer, bob: Chatter, client: httpx.AsyncClient
) -> None:
    fake.add_turns(*seed_script())
    await bob.ask(SEED_TASK)
    switched = await client.patch(
        f"/api/assistants/{bob.assistant_id}", json={"mode": "single"}, headers=bob.headers
    )
    assert switched.json()["mode"] == "single"
    fake.add_turns(
        Turn(tool_calls=[("execute_code", {"code": "print(len(points), len(outliers))"})]),
        Turn(text="100 points, 2 outliers."),
    )

    reply = await bob.ask("How many?")

    assert reply.stdout == "100 2\n"
    assert all("agent" not in data for _, data in reply.events)
    assert reply.end["stop_reason"] == "complete"


async def test_the_users_cancel_stops_a_team_mid_turn(
    fake: FakeLLMServer, bob: Chatter, live_url: str
) -> None:
    fake.add_turns(
        Turn(tool_calls=[("transfer_to_CodeAgent", {"reason": "sleep"})]),
        Turn(tool_calls=[("execute_code", {"code": LONG_CELL})]),
    )
    base = f"{live_url}/api/conversations/{bob.conversation_id}"
    headers = {**bob.headers, "Accept": "text/event-stream"}
    async with (
        httpx.AsyncClient(timeout=60) as http,
        http.stream(
            "POST", f"{base}/messages", json={"content": "Sleep"}, headers=headers
        ) as response,
    ):
        body = ""
        chunks = response.aiter_text()
        async for chunk in chunks:
            body += chunk
            if "started" in body:
                break
        stop = await http.post(f"{base}/cancel", headers=bob.headers)
        async for chunk in chunks:
            body += chunk

    assert stop.json() == {"cancelled": True}
    name, end = parse_events(body)[-1]
    assert name == "message_end"
    assert end["status"] == "cancelled"
    assert end["stop_reason"] == "cancelled"
    assert end["agent"] == "Planner"


@pytest.mark.parametrize(
    ("team", "message"),
    [
        ({"roles": []}, "at least 1"),
        ({"roles": [{"name": "Solo"}]}, "can_terminate"),
        (
            {"roles": [{"name": "A", "can_terminate": True, "handoffs": ["Nobody"]}]},
            "cannot hand off to 'Nobody'",
        ),
        ({"roles": [{"name": "A", "can_terminate": True, "tools": ["rm"]}]}, "no tool 'rm'"),
    ],
)
async def test_a_team_that_cannot_run_is_refused_when_saved(
    bob: Chatter, client: httpx.AsyncClient, team: dict, message: str
) -> None:
    response = await client.patch(
        f"/api/assistants/{bob.assistant_id}", json={"team": team}, headers=bob.headers
    )

    assert response.status_code == 422
    assert message in response.text


async def test_an_edited_team_is_what_answers(
    fake: FakeLLMServer, bob: Chatter, client: httpx.AsyncClient
) -> None:
    team = {
        "roles": [
            {
                "name": "Lead",
                "instructions": "Decide.",
                "handoffs": ["Coder"],
                "can_terminate": True,
            },
            {
                "name": "Coder",
                "instructions": "Code.",
                "tools": ["execute_code"],
                "handoffs": ["Lead"],
            },
        ],
        "max_messages": 2,
    }
    saved = await client.patch(
        f"/api/assistants/{bob.assistant_id}", json={"team": team}, headers=bob.headers
    )
    assert saved.status_code == 200, saved.text
    fake.add_turns(
        Turn(tool_calls=[("transfer_to_Coder", {"reason": "compute"})]),
        Turn(tool_calls=[("execute_code", {"code": "print(6 * 7)"})]),
    )

    reply = await bob.ask("Compute")

    assert [(h["from"], h["to"]) for h in reply.of("handoff")] == [("Lead", "Coder")]
    assert reply.stdout == "42\n"
    assert reply.end["stop_reason"] == "max_messages"
    assert reply.end["status"] == "complete"  # an answer, saying why the team stopped
    assert reply.of("error")[0]["code"] == "max_messages"
    stored = (await bob.messages())[-1]
    assert stored["content"].startswith("The team stopped (the team used all 2 messages)")
    assert reply.end["agent"] == "Coder"
    tools = [t["function"]["name"] for t in fake.model_requests[-1].json["tools"]]
    assert tools == ["execute_code", "transfer_to_Lead"]
