"""`/metrics` after real chat turns: executions, turns, model calls, tokens, artifacts and
HTTP requests each move by what the turn did (the scripted model, real sandboxes). Counters
are process-wide, so each test compares a scrape before with one after."""

from __future__ import annotations

import httpx
import pytest

from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.api.chat.conftest import Chatter
from tests.fixtures.metrics import total, value

pytestmark = pytest.mark.asyncio(loop_scope="session")

CSV = b"month,sales\nJan,10\nFeb,14\nMar,9\n"
PLOT = (
    "import pandas as pd\nimport matplotlib.pyplot as plt\n"
    "df = pd.read_csv('sales.csv')\nprint('total', df.sales.sum())\n"
    "df.plot.bar(x='month', y='sales')\nplt.show()"
)


async def scrape(client: httpx.AsyncClient, services: Services) -> str:
    if not hasattr(scrape, "headers"):
        root = await services.users.create_user("metrics-root", admin=True)
        key = (await services.users.create_key(root.id)).secret
        scrape.headers = {"Authorization": f"Bearer {key}"}  # type: ignore[attr-defined]
    response = await client.get("/metrics", headers=scrape.headers)  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


@pytest.fixture(autouse=True)
def _fresh_scraper() -> None:
    # A fresh app (and database) per test: its admin is made again.
    if hasattr(scrape, "headers"):
        del scrape.headers  # type: ignore[attr-defined]


async def test_a_turn_with_a_chart_moves_every_counter_it_touches(
    fake: FakeLLMServer, alice: Chatter, client: httpx.AsyncClient, services: Services
) -> None:
    before = await scrape(client, services)
    await alice.upload("sales.csv", CSV)
    fake.add_turns(
        Turn(text="Let me plot it.", tool_calls=[("execute_code", {"code": PLOT})]),
        Turn(text="Here is the chart."),
    )

    reply = await alice.ask("Plot sales by month")
    assert reply.end["status"] == "complete"
    after = await scrape(client, services)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("analyst_executions_total", backend="local", purpose="code", outcome="ok") == 1
    # Before the model's first call the service looked at the upload (a preview).
    assert moved("analyst_executions_total", purpose="preview", outcome="ok") == 1
    assert moved("analyst_execution_duration_seconds_count", backend="local") == 2
    assert moved("analyst_execution_peak_memory_bytes_count", backend="local") == 2
    assert (
        moved("analyst_turns_total", mode="agent", outcome="complete", stop_reason="complete") == 1
    )
    assert moved("analyst_turn_iterations_sum", mode="agent") == 2
    assert moved("analyst_turn_duration_seconds_count", mode="agent") == 1
    assert moved("analyst_llm_calls_total", provider="openai", outcome="ok") == 2
    assert moved("analyst_llm_first_token_seconds_count", provider="openai") == 2
    usage = reply.end["usage"]
    assert moved("analyst_llm_tokens_total", direction="input") == usage["input_tokens"] > 0
    assert moved("analyst_llm_tokens_total", direction="output") == usage["output_tokens"] > 0
    assert moved("analyst_files_stored_total", kind="upload") == 1
    assert moved("analyst_files_stored_bytes_total", kind="upload") == len(CSV)
    assert moved("analyst_files_stored_total", kind="artifact") == 1
    assert moved("analyst_files_stored_bytes_total", kind="artifact") > 0
    route = "/api/conversations/{conversation_id}/messages"
    assert moved("analyst_http_requests_total", method="POST", route=route, status="200") == 1
    assert moved("analyst_http_requests_total", route="/api/files", status="201") == 1
    # The turn ended: nothing runs now, and its session lives on for the next question.
    assert value(after, "analyst_turns_running") == 0
    assert value(after, "analyst_sessions_live") >= 1


async def test_failing_code_and_a_failed_model_call_are_counted_by_outcome(
    fake: FakeLLMServer, alice: Chatter, client: httpx.AsyncClient, services: Services
) -> None:
    before = await scrape(client, services)
    fake.add_turns(
        Turn(tool_calls=[("execute_code", {"code": "1 / 0"})]),
        Turn(text="It divides by zero."),
    )
    reply = await alice.ask("What is one over zero?")
    assert reply.end["status"] == "complete"
    fake.add_turns(Turn(text="Answered on the second try.", error_status=429, retry_after=0))
    reply = await alice.ask("And now?")
    assert reply.end["status"] == "complete"
    fake.add_turns(Turn(text="never sent", error_status=401))
    reply = await alice.ask("And then?")
    assert reply.end["status"] == "failed"
    after = await scrape(client, services)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("analyst_executions_total", purpose="code", outcome="error") == 1
    assert moved("analyst_llm_retries_total", reason="LLMRateLimitError") == 1
    assert moved("analyst_llm_calls_total", outcome="ok") == 3
    assert moved("analyst_llm_calls_total", outcome="LLMAuthError") == 1
    assert moved("analyst_turns_total", outcome="failed") == 1


async def test_unknown_paths_are_one_label_not_one_per_path(
    alice: Chatter, client: httpx.AsyncClient, services: Services
) -> None:
    before = await scrape(client, services)
    for n in range(3):
        await client.get(f"/api/no-such-thing-{n}", headers=alice.headers)
    await client.get(f"/api/conversations/{alice.conversation_id}", headers=alice.headers)
    after = await scrape(client, services)

    assert (
        total(after, "analyst_http_requests_total", route="unmatched")
        - total(before, "analyst_http_requests_total", route="unmatched")
        == 3
    )
    assert alice.conversation_id not in after
    assert "no-such-thing" not in after
