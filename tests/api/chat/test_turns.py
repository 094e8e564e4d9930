"""One chat turn over HTTP: upload, ask, code runs, a chart comes back as a downloadable
artifact; the stream's events and what is stored; errors of the model and of the code."""

from __future__ import annotations

import httpx
import pytest

from sandbox_analyst.service import Principal, Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.api.chat.conftest import Chatter, make_chatter
from tests.conftest import free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")

CSV = b"month,sales\nJan,10\nFeb,14\nMar,9\n"
PLOT = (
    "import pandas as pd\nimport matplotlib.pyplot as plt\n"
    "df = pd.read_csv('sales.csv')\nprint('total', df.sales.sum())\n"
    "df.plot.bar(x='month', y='sales')\nplt.show()"
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def answer_quoting_output(prefix: str) -> object:
    """A model answer computed from the request: it quotes what the code printed."""
    return lambda body: Turn(text=f"{prefix} {last_tool_result(body)}")


def chart_script() -> list[object]:
    return [
        Turn(text="Let me plot it.", tool_calls=[("execute_code", {"code": PLOT})]),
        answer_quoting_output("Here is the chart."),
    ]


async def test_a_csv_question_streams_code_output_and_a_downloadable_chart(
    fake: FakeLLMServer, alice: Chatter, client: httpx.AsyncClient
) -> None:
    await alice.upload("sales.csv", CSV)
    fake.add_turns(*chart_script())

    reply = await alice.ask("Plot sales by month")

    names = reply.names()
    assert names[0] == "message_start"
    assert names[-1] == "message_end"
    assert names.index("tool_call") < names.index("stdout") < names.index("tool_result")
    assert names.index("artifact") < names.index("tool_result")
    assert reply.of("tool_call")[0]["code"] == PLOT
    assert "total 33" in reply.stdout
    assert reply.end["status"] == "complete"
    assert reply.end["usage"]["input_tokens"] > 0
    artifact = reply.of("artifact")[0]
    assert artifact["media_type"] == "image/png"
    assert artifact["url"] == f"/api/files/{artifact['id']}/content"
    assert reply.end["artifact_ids"] == [artifact["id"]]

    download = await client.get(artifact["url"], headers=alice.headers)
    assert download.status_code == 200
    assert download.content.startswith(PNG_MAGIC)

    # The model saw the uploaded file in its workdir and the code's real output.
    assert "total 33" in (last_tool_result(fake.model_requests[-1].json or {}) or "")


async def test_every_step_is_stored_as_the_turn_ran(
    fake: FakeLLMServer, alice: Chatter, services: Services
) -> None:
    await alice.upload("sales.csv", CSV)
    fake.add_turns(*chart_script())

    reply = await alice.ask("Plot sales by month")

    user, assistant = await alice.messages()
    start = reply.of("message_start")[0]
    assert (user["id"], user["role"], user["content"]) == (
        start["user_message_id"],
        "user",
        "Plot sales by month",
    )
    assert assistant["id"] == start["message_id"]
    assert assistant["status"] == "complete"
    assert assistant["content"].startswith("Here is the chart.")
    assert [call["code"] for call in assistant["tool_calls"]] == [PLOT]
    assert assistant["tool_calls"][0]["text"] == "Let me plot it."
    assert assistant["tool_results"][0]["success"] is True
    assert assistant["artifact_ids"] == reply.end["artifact_ids"]
    [execution] = await services.conversations.list_executions(
        Principal("audit", "audit", is_admin=True), alice.conversation_id
    )
    assert (execution.code, execution.status, execution.message_id) == (
        PLOT,
        "ok",
        assistant["id"],
    )
    assert "total 33" in execution.stdout
    assert execution.duration_s is not None
    assert execution.duration_s > 0
    assert execution.peak_memory_bytes is not None
    assert execution.peak_memory_bytes > 0


async def test_the_json_answer_is_the_stored_message_with_its_artifacts(
    fake: FakeLLMServer, alice: Chatter, client: httpx.AsyncClient
) -> None:
    await alice.upload("sales.csv", CSV)
    fake.add_turns(*chart_script())

    response = await client.post(
        f"/api/conversations/{alice.conversation_id}/messages",
        json={"content": "Plot sales by month"},
        headers=alice.headers,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "complete"
    assert body["role"] == "assistant"
    assert [a["media_type"] for a in body["artifacts"]] == ["image/png"]
    assert body["artifacts"][0]["url"] in body["content"]


async def test_a_failing_cell_is_corrected_by_the_next_one(
    fake: FakeLLMServer, alice: Chatter, services: Services
) -> None:
    fake.add_turns(
        Turn(tool_calls=[("execute_code", {"code": "print(undefined_name)"})]),
        Turn(tool_calls=[("execute_code", {"code": "value = 6 * 7\nprint(value)"})]),
        answer_quoting_output("Fixed:"),
    )

    reply = await alice.ask("Compute something")

    first, second = reply.of("tool_result")
    assert first["success"] is False
    assert first["error"]["name"] == "NameError"
    assert second["success"] is True
    assert "42" in reply.stdout
    assert reply.end["status"] == "complete"
    # The model was told about the NameError before it tried again.
    assert "NameError" in (last_tool_result(fake.model_requests[1].json or {}) or "")
    executions = await services.conversations.list_executions(
        Principal("audit", "audit", is_admin=True), alice.conversation_id
    )
    assert [e.status for e in executions] == ["error", "ok"]
    assert executions[0].error is not None
    assert executions[0].error["name"] == "NameError"


async def test_the_same_turn_over_the_anthropic_wire(
    fake: FakeLLMServer, services: Services, client: httpx.AsyncClient
) -> None:
    claude = await make_chatter(services, client, "carol", provider="anthropic")
    await claude.upload("sales.csv", CSV)
    fake.add_turns(*chart_script())

    reply = await claude.ask("Plot sales by month")

    assert reply.end["status"] == "complete"
    assert reply.of("artifact")[0]["media_type"] == "image/png"
    assert "total 33" in reply.stdout
    assert all(r.path.endswith("/v1/messages") for r in fake.model_requests)
    assert fake.model_requests[0].json is not None
    assert fake.model_requests[0].json["model"] == "claude-test"


@pytest.mark.parametrize(
    "fake", [{"quirks": ["ollama_index_reuse", "fragmented_arguments"]}], indirect=True
)
async def test_an_ollama_style_stream_of_two_calls_sharing_index_0(
    fake: FakeLLMServer, alice: Chatter
) -> None:
    fake.add_turns(
        Turn(
            tool_calls=[
                ("execute_code", {"code": "a = 'first'\nprint(a)"}),
                ("execute_code", {"code": 'b = "second \\"quoted\\""\nprint(b)'}),
            ]
        ),
        Turn(text="Both ran."),
    )

    reply = await alice.ask("Run two things")

    assert [call["code"] for call in reply.of("tool_call")] == [
        "a = 'first'\nprint(a)",
        'b = "second \\"quoted\\""\nprint(b)',
    ]
    assert "first" in reply.stdout
    assert 'second "quoted"' in reply.stdout
    assert reply.end["status"] == "complete"


async def test_a_rate_limited_model_call_is_retried(fake: FakeLLMServer, alice: Chatter) -> None:
    fake.add_turns(Turn(text="Hello after waiting.", error_status=429, retry_after=0))

    reply = await alice.ask("Hi")

    assert reply.text == "Hello after waiting."
    assert reply.end["status"] == "complete"
    assert len(fake.model_requests) == 2
    assert reply.of("error") == []


async def test_a_model_that_cannot_be_made_fails_the_turn_saying_why(
    alice: Chatter, services: Services, fake: FakeLLMServer
) -> None:
    services.settings.llm = services.settings.llm.model_copy(update={"model": None})

    reply = await alice.ask("Hi")

    [error] = reply.of("error")
    assert error["code"] == "llm_error"
    assert "no model named" in error["message"]
    assert reply.end["status"] == "failed"
    assert fake.model_requests == []


async def test_an_unreachable_model_fails_the_turn_with_a_clear_error(
    alice: Chatter, services: Services
) -> None:
    endpoint = services.settings.llm
    services.settings.llm = endpoint.model_copy(
        update={"base_url": f"http://127.0.0.1:{free_port()}/v1", "max_retries": 1}
    )

    reply = await alice.ask("Hi")

    [error] = reply.of("error")
    assert error["code"] == "llm_error"
    assert "openai" in error["message"]
    assert "test-model" in error["message"]
    assert "127.0.0.1" in error["message"]
    assert reply.end["status"] == "failed"
    _user, assistant = await alice.messages()
    assert assistant["status"] == "failed"
    assert assistant["error"] == error["message"]


async def test_only_someone_who_may_see_the_conversation_may_post_to_it(
    alice: Chatter, services: Services, client: httpx.AsyncClient
) -> None:
    bob = await make_chatter(services, client, "bob")
    url = f"/api/conversations/{alice.conversation_id}/messages"

    response = await client.post(url, json={"content": "hi"}, headers=bob.headers)

    assert response.status_code == 404
    assert await alice.messages() == []


async def test_an_assistant_made_private_can_no_longer_be_chatted_with(
    alice: Chatter, services: Services, client: httpx.AsyncClient
) -> None:
    published = await client.post(
        f"/api/assistants/{alice.assistant_id}/publish", headers=alice.headers
    )
    assert published.status_code == 200
    bob = await make_chatter(services, client, "bob")
    response = await client.post(
        "/api/conversations", json={"assistant_id": alice.assistant_id}, headers=bob.headers
    )
    conversation_id = response.json()["id"]
    await client.post(f"/api/assistants/{alice.assistant_id}/unpublish", headers=alice.headers)

    response = await client.post(
        f"/api/conversations/{conversation_id}/messages",
        json={"content": "hi"},
        headers=bob.headers,
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_a_tables_html_is_stored_with_its_step_so_the_turn_can_be_shown_again(
    fake: FakeLLMServer, alice: Chatter
) -> None:
    table = "import pandas as pd\npd.DataFrame({'city': ['Lyon', 'Nîmes'], 'sales': [3, 4]})"
    fake.add_turns(
        Turn(tool_calls=[("execute_code", {"code": table})]),
        Turn(tool_calls=[("execute_code", {"code": "print('no rich output')"})]),
        Turn(text="Two cities."),
    )

    reply = await alice.ask("Show the table")

    [streamed] = reply.of("result")
    _, assistant = await alice.messages()
    with_table, plain = assistant["tool_results"]
    [stored] = with_table["results"]
    assert stored["html"] == streamed["html"]
    assert "<table" in stored["html"]
    assert "Nîmes" in stored["html"]
    assert "Lyon" in stored["text"]
    assert plain["results"] == []


async def test_charts_of_later_turns_are_numbered_on_not_named_again(
    fake: FakeLLMServer, alice: Chatter
) -> None:
    await alice.upload("sales.csv", CSV)
    fake.add_turns(*chart_script(), *chart_script())

    first = await alice.ask("Plot sales by month")
    second = await alice.ask("Once more")

    names = [event["name"] for reply in (first, second) for event in reply.of("artifact")]
    assert names == ["figure-1.png", "figure-2.png"]


async def test_a_conversations_artifact_limit_counts_what_its_earlier_turns_saved(
    fake: FakeLLMServer, alice: Chatter, services: Services
) -> None:
    agent = services.settings.agent
    services.settings.agent = agent.model_copy(update={"max_conversation_artifacts": 1})
    await alice.upload("sales.csv", CSV)
    fake.add_turns(*chart_script(), *chart_script())

    first = await alice.ask("Plot sales by month")
    second = await alice.ask("Once more")

    assert [event["name"] for event in first.of("artifact")] == ["figure-1.png"]
    assert second.of("artifact") == []
    [result] = second.of("tool_result")
    assert "already holds 1 saved charts and files, its limit" in result["observation"]
