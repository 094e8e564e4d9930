"""`GET /api/admin/usage` after a real turn: the user's turns, tokens, code runs and stored
bytes, for a period and for one user; admins only."""

from __future__ import annotations

import httpx
import pytest

from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.api.chat.conftest import Chatter, admin_headers, make_chatter

pytestmark = pytest.mark.asyncio(loop_scope="session")

CSV = b"month,sales\nJan,10\nFeb,14\n"


async def test_a_users_turns_tokens_runs_and_storage(
    fake: FakeLLMServer, alice: Chatter, client: httpx.AsyncClient, services: Services
) -> None:
    await alice.upload("sales.csv", CSV)
    fake.add_turns(
        Turn(tool_calls=[("execute_code", {"code": "print(1 + 1)"})], usage=(100, 20)),
        Turn(text="Two.", usage=(150, 5)),
    )
    fake.add_turns(Turn(text="never", error_status=401))
    assert (await alice.ask("One plus one?")).end["status"] == "complete"
    assert (await alice.ask("And now?")).end["status"] == "failed"
    await make_chatter(services, client, "bob")
    headers = await admin_headers(services)

    response = await client.get("/api/admin/usage", headers=headers)

    assert response.status_code == 200, response.text
    rows = {row["name"]: row for row in response.json()}
    assert set(rows) == {"alice", "bob", "root"}
    alice_usage = rows["alice"]
    assert alice_usage["turns"] == 2
    assert alice_usage["turns_by_status"] == {"complete": 1, "failed": 1}
    assert (alice_usage["input_tokens"], alice_usage["output_tokens"]) == (250, 25)
    assert alice_usage["executions"] == 1
    assert alice_usage["execution_seconds"] > 0
    assert (alice_usage["files"], alice_usage["storage_bytes"]) == (1, len(CSV))
    assert rows["bob"]["turns"] == rows["bob"]["executions"] == rows["bob"]["files"] == 0

    only = await client.get("/api/admin/usage", params={"user": "alice"}, headers=headers)
    assert [row["name"] for row in only.json()] == ["alice"]
    later = await client.get(
        "/api/admin/usage", params={"since": "2999-01-01", "user": "alice"}, headers=headers
    )
    (row,) = later.json()
    assert (row["turns"], row["executions"], row["input_tokens"]) == (0, 0, 0)
    assert row["storage_bytes"] == len(CSV)  # what is stored now, whatever the period


async def test_only_admins_see_usage_and_an_unknown_user_is_named(
    alice: Chatter, client: httpx.AsyncClient, services: Services
) -> None:
    refused = await client.get("/api/admin/usage", headers=alice.headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"

    unknown = await client.get(
        "/api/admin/usage", params={"user": "nobody"}, headers=await admin_headers(services)
    )
    assert unknown.status_code == 404
    assert "nobody" in unknown.json()["error"]["message"]
