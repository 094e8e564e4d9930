"""One chat turn over HTTP: upload, ask, code runs, a chart comes back as a downloadable
artifact; the stream's events and what is stored; errors of the model and of the code."""

from __future__ import annotations

import httpx
import pytest

from sandbox_analyst.service import Principal, Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.api.chat.conftest import Chatter

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
